// remo-brokerctl rotate: replaces the instance's bootstrap key (README "Rotating the bootstrap key").
//
//   1. status                      which key the broker holds, and whether a rotation is pending
//   2. rotate-bootstrap {identity?} the broker re-encrypts its state to the old and the new key
//   3. write the credential file   atomically; plain 0600, or sealed by systemd-creds
//   4. rotate-bootstrap {confirm}   the broker re-encrypts to the new key alone and drops the old one
//
// Re-running it after a crash of the broker or of this command at any step finishes the job: the
// credential file says which key survives. If it already holds the pending new key, the command only
// confirms (handing the key back first when the broker restarted with the old credential); if it still
// holds the old key, the rotation starts over (the new key of the interrupted attempt was never saved).
//
// The identity is held in secure memory and travels on the admin socket and through pipes only. The
// socket is reached through broker_client, like every other command.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "broker/cli/args.hpp"
#include "broker/cli/broker_client.hpp"
#include "broker/cli/command.hpp"
#include "broker/cli/credential_file.hpp"
#include "broker/cli/io.hpp"
#include "broker/cli/secure_request.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/secure_buffer.hpp"
#include "protocol/codes.hpp"
#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

namespace field = protocol::field;
namespace op = protocol::op;

// The status reply's member that says why the bootstrap key cannot open the saved state (protocol.md,
// status). protocol/ names request fields only; this reply member is spelled like the code it reports.
constexpr std::string_view kStatusBootstrapError = protocol::code::kBootstrapError;
// The files the packaged unit loads: systemd/remo-broker-seal-key's drop-in names one of them.
constexpr std::string_view kPlainCredential = "/etc/credstore/bootstrap-key";
constexpr std::string_view kSealedCredential = "/etc/credstore.encrypted/bootstrap-key";

constexpr std::string_view kUsage =
    "usage: remo-brokerctl rotate [--socket PATH] [--credential-file PATH] [--systemd-creds]\n"
    "                             [--identity-file FILE]\n"
    "\n"
    "Replaces the broker's bootstrap key: the broker re-encrypts its saved secrets and pending one-shot\n"
    "secrets to the old and the new key, the new identity is written to the credential file, then the\n"
    "broker drops the old key. Safe to re-run after a crash at any step: it finishes the rotation.\n"
    "Prints the new recipient (age1...) on stdout.\n"
    "\n"
    "  --socket PATH           admin socket (default $REMO_BROKER_ADMIN_SOCKET, else "
    "/run/remo-broker-admin/admin.sock)\n"
    "  --credential-file PATH  the file systemd loads as credential bootstrap-key (default\n"
    "                          /etc/credstore/bootstrap-key, or /etc/credstore.encrypted/bootstrap-key\n"
    "                          with --systemd-creds)\n"
    "  --systemd-creds         the credential file is sealed with `systemd-creds encrypt "
    "--name=bootstrap-key`\n"
    "                          (for LoadCredentialEncrypted=)\n"
    "  --identity-file FILE    use this age identity as the new key instead of one the broker generates\n";

int failure(std::string_view message) {
  std::fprintf(stderr, "remo-brokerctl rotate: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitFailure;
}

// The generated identity in a begin reply, moved out to its own secure buffer and blanked in the line
// before the rest of it is parsed (the JSON library keeps strings in ordinary memory).
std::optional<crypto::SecureBuffer> take_identity(crypto::SecureBuffer& line) {
  std::string key(1, '"');
  key.append(field::kIdentity).append("\":\"");
  const std::string_view text = line.view();
  const auto start = text.find(key);
  if (start == std::string_view::npos) return std::nullopt;
  const auto value = start + key.size();
  const auto end = text.find('"', value);
  if (end == std::string_view::npos) return std::nullopt;
  auto identity = crypto::SecureBuffer::copy_of(text.substr(value, end - value));
  std::memset(line.data() + value, 'x', end - value);
  return identity;
}

struct Begun {
  std::string recipient;
  std::optional<crypto::X25519Identity> generated;
};

// rotate-bootstrap, with the given identity or none (the broker generates one and returns it). The
// request is written in secure memory (secure_request.hpp): a Json tree would copy the key into ordinary
// heap strings.
crypto::SecureBuffer begin_request(const crypto::X25519Identity* identity) {
  const Json plain{{field::kOp, op::kRotateBootstrap}};
  if (identity == nullptr) {
    const std::string line = plain.dump() + "\n";
    return crypto::SecureBuffer::copy_of(std::string_view(line));
  }
  const crypto::SecureBuffer key = identity->encode();
  return request_with_secret(plain, field::kIdentity, key.span());
}

Result<Begun> request_begin(const std::string& socket_path, const crypto::X25519Identity* identity) {
  auto line = call_raw(socket_path, begin_request(identity).span());
  if (!line) return std::move(line).error();
  auto identity_text = take_identity(*line);
  auto reply = parse_ok_reply(line->view());
  if (!reply) return std::move(reply).error();
  Begun begun{reply->value("recipient", std::string()), std::nullopt};
  if (identity_text) {
    auto parsed = crypto::X25519Identity::parse(identity_text->view());
    if (!parsed || parsed->recipient().encode() != begun.recipient) {
      return Error{std::string(kMalformedReply),
                   "the broker's reply carries an identity that does not match its recipient"};
    }
    begun.generated = std::move(*parsed);
  } else if (!identity) {
    return Error{std::string(kMalformedReply),
                 "the broker generated a key but did not return it (are you root?)"};
  }
  return begun;
}

Result<void> request_confirm(const std::string& socket_path, const std::string& recipient) {
  auto reply = call_ok(
      socket_path,
      Json{{field::kOp, op::kRotateBootstrap}, {field::kConfirm, true}, {field::kRecipient, recipient}});
  if (!reply) return std::move(reply).error();
  return {};
}

// Test instrumentation (tests/integration/test_rotate.py): REMO_TEST_CRASH_AT=cli-after-begin or
// cli-after-write kills this process there, as a crash would. Harmless anywhere else: surviving a crash
// at those points is exactly what the sequence is designed for.
void crash_point(std::string_view step) {
  const char* armed = std::getenv("REMO_TEST_CRASH_AT");
  if (armed != nullptr && step == armed) ::raise(SIGKILL);
}

std::string error_line(const Error& error) { return error.code + ": " + error.message; }

// Begins a rotation, saves the new key in the credential file, confirms.
int rotate_from_old_key(const std::string& socket_path, const CredentialFile& credential,
                        const std::optional<crypto::X25519Identity>& chosen) {
  auto begun = request_begin(socket_path, chosen ? &*chosen : nullptr);
  if (!begun) return failure("the broker did not start the rotation: " + error_line(begun.error()));
  crash_point("cli-after-begin");
  const crypto::X25519Identity* next = begun->generated ? &*begun->generated : &*chosen;
  if (auto written = write_credential(credential, *next); !written) {
    return failure(
        error_line(written.error()) +
        "; the broker keeps both keys until the rotation is confirmed: fix this and run rotate again");
  }
  crash_point("cli-after-write");
  if (auto confirmed = request_confirm(socket_path, begun->recipient); !confirmed) {
    return failure("the new key is in " + credential.path + " but the broker did not confirm: " +
                   error_line(confirmed.error()) + "; run rotate again");
  }
  std::printf("%s\n", begun->recipient.c_str());
  return kExitOk;
}

// The new key the user chose with --identity-file, if any. Errors carry the whole sentence to print.
Result<std::optional<crypto::X25519Identity>> read_chosen_identity(const ParsedArgs& parsed) {
  const auto file = parsed.last("identity-file");
  if (!file) return std::optional<crypto::X25519Identity>{};
  auto text = read_secret(*file);
  if (!text) return make_error(text.error().code, error_line(text.error()));
  auto identities = crypto::parse_identity_file(text->view());
  if (!identities || identities->empty()) {
    return make_error("usage",
                      "identity file " + *file + ": not an age X25519 identity file (AGE-SECRET-KEY-1...)");
  }
  return std::optional<crypto::X25519Identity>(std::move(identities->front()));
}

// The command line, or the status to exit with (help printed, or a usage error).
std::optional<int> parse_rotate_args(CommandArgs args, ParsedArgs& parsed) {
  static constexpr std::array<OptionSpec, 4> kSpecs{{{'\0', "socket", true},
                                                     {'\0', "credential-file", true},
                                                     {'\0', "systemd-creds", false},
                                                     {'\0', "identity-file", true}}};
  auto parsed_args = parse_args(args, kSpecs);
  if (!parsed_args) {
    std::fprintf(stderr, "remo-brokerctl rotate: %s\n%.*s", parsed_args.error().message.c_str(),
                 static_cast<int>(kUsage.size()), kUsage.data());
    return kExitUsage;
  }
  parsed = std::move(*parsed_args);
  if (parsed.help) {
    std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return kExitOk;
  }
  if (!parsed.positionals.empty()) {
    std::fprintf(stderr, "remo-brokerctl rotate: unexpected argument %s\n",
                 parsed.positionals.front().c_str());
    return kExitUsage;
  }
  return std::nullopt;
}

// A rotation the broker has pending: finish it when the credential file holds its new key, start over
// when it still holds the old one.
int resume_rotation(const std::string& socket_path, const CredentialFile& credential,
                    const crypto::X25519Identity& held, const Json& rotation,
                    const std::optional<crypto::X25519Identity>& chosen) {
  const std::string in_file = held.recipient().encode();
  const std::string pending_new = rotation.value("new_recipient", std::string());
  const std::string pending_old = rotation.value("old_recipient", std::string());
  if (in_file == pending_new) {
    // The new key was saved; only the confirmation is missing.
    std::fprintf(stderr, "remo-brokerctl rotate: resuming: %s already holds the new key\n",
                 credential.path.c_str());
    if (rotation.value("new_key_loaded", false) != true) {
      if (auto given = request_begin(socket_path, &held); !given) {
        return failure("the broker did not take the new key back: " + error_line(given.error()));
      }
    }
    if (auto confirmed = request_confirm(socket_path, pending_new); !confirmed) {
      return failure("the broker did not confirm: " + error_line(confirmed.error()) + "; run rotate again");
    }
    std::printf("%s\n", pending_new.c_str());
    return kExitOk;
  }
  if (in_file == pending_old) {
    std::fprintf(stderr,
                 "remo-brokerctl rotate: resuming: %s still holds the old key; starting the rotation over\n",
                 credential.path.c_str());
    return rotate_from_old_key(socket_path, credential, chosen);
  }
  return failure("the credential file " + credential.path + " holds " + in_file +
                 ", neither key of the pending rotation (" + pending_old + " to " + pending_new + ")");
}

// Asks the broker where it stands and starts, resumes or finishes the rotation from there.
int rotate(const std::string& socket_path, const CredentialFile& credential,
           const std::optional<crypto::X25519Identity>& chosen) {
  auto status = call_ok(socket_path, Json{{field::kOp, op::kStatus}});
  if (!status) return failure(error_line(status.error()));
  if (const auto& error = (*status)[kStatusBootstrapError]; error.is_string()) {
    return failure("the broker cannot open its saved state with its key: " + error.get<std::string>());
  }
  auto held = read_credential(credential);
  if (!held) return failure(error_line(held.error()));
  const Json& rotation = (*status)["rotation"];
  if (rotation.is_object()) return resume_rotation(socket_path, credential, *held, rotation, chosen);
  const std::string in_file = held->recipient().encode();
  const std::string current = status->value("recipient", std::string());
  if (in_file != current) {
    return failure("the credential file " + credential.path + " holds " + in_file +
                   ", but the broker runs with " + current +
                   "; is it the file systemd loads as bootstrap-key?");
  }
  return rotate_from_old_key(socket_path, credential, chosen);
}

}  // namespace

int run_rotate(CommandArgs args) {
  ParsedArgs parsed;
  if (auto done = parse_rotate_args(args, parsed)) return *done;
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);  // keys in memory: no core file, no ptrace by this uid
  ::umask(077);

  const std::string socket_path = resolve_socket(SocketKind::kAdmin, parsed.last("socket"));
  CredentialFile credential{"", parsed.has("systemd-creds")};
  credential.path =
      parsed.last("credential-file")
          .value_or(std::string(credential.systemd_creds ? kSealedCredential : kPlainCredential));
  auto chosen = read_chosen_identity(parsed);
  if (!chosen) return failure(chosen.error().message);
  return rotate(socket_path, credential, *chosen);
}

}  // namespace remo::cli
