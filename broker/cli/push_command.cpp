// remo-brokerctl push [USER@]HOST: the laptop side of a push.
//
//   1. read the bundle (a file, or stdin for a password manager) into secure memory and validate it here,
//      so a typo fails before anything leaves the laptop;
//   2. ask the instance for its recipient (ssh: remo-brokerctl admin get-public-key) and check it against
//      the pin in known_instances (trust on first use; a change is refused until --repin);
//   3. encrypt locally to that recipient;
//   4. optionally sign the ciphertext (ssh-keygen -Y sign -n remo-broker, fed on stdin);
//   5. send signature and ciphertext on ssh's stdin to remo-brokerctl admin push-creds: never in argv,
//      never in a file on either side.
// --dry-run stops after 2 and compares keyed digests instead (core/secret_digest.hpp).
#include <sodium.h>
#include <sys/prctl.h>

#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "broker/cli/broker_client.hpp"
#include "broker/cli/cli_output.hpp"
#include "broker/cli/exit_codes.hpp"
#include "broker/cli/io.hpp"
#include "broker/cli/known_instances.hpp"
#include "broker/cli/ssh_remote.hpp"
#include "broker/core/secret_digest.hpp"
#include "broker/core/secret_set.hpp"
#include "broker/crypto/age.hpp"
#include "broker/crypto/base64.hpp"
#include "protocol/ops.hpp"

namespace remo::cli {
namespace {

constexpr std::string_view kCommand = "push";

const std::string kUsage =
    std::string(
        "usage: remo-brokerctl push [USER@]HOST [--secrets FILE|-] [--ssh-option OPT]... [--sign-key KEY]\n"
        "                           [--repin] [--dry-run] [--remote-command PATH]\n"
        "\n"
        "Encrypts a bundle of secrets (TOML: NAME = \"value\" or NAME = { value_b64 = \"...\" }) on this "
        "machine\n"
        "to the instance's key and loads it into the instance's broker over ssh. The first push pins the\n"
        "instance's recipient in $XDG_CONFIG_HOME/remo-broker/known_instances; a later change is refused.\n"
        "\n"
        "  --secrets FILE|-        the bundle (default -: stdin, e.g. from a password manager)\n"
        "  --ssh-option OPT        passed to ssh as -o OPT (repeatable), e.g. Port=2222, IdentityFile=...\n"
        "  --sign-key KEY          sign the ciphertext with this SSH private key (ssh-keygen -Y sign)\n"
        "  --repin                 accept a changed instance recipient and pin the new one\n"
        "  --dry-run               show which secret names would be added, changed or removed; change "
        "nothing\n"
        "  --remote-command PATH   remo-brokerctl on the instance (default: remo-brokerctl on its PATH)\n"
        "\n") +
    std::string(exit_code::kHelpTable);

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};  // NOLINT: byte view
}

// Runs an admin op on the instance and returns its --json reply. A non-zero status of the remote command
// becomes an error whose exit status is the remote one (same table on both sides).
struct RemoteFailure {
  int status;
};

class Instance {
 public:
  explicit Instance(SshRemote remote) : remote_(std::move(remote)) {}
  const SshRemote& remote() const { return remote_; }

  // The reply of `admin <op> --json` with input on stdin, or the exit status to stop with (after printing
  // why). The words of `remo-brokerctl admin` are the admin ops' names, so op_words start with a
  // protocol::op name.
  std::variant<Json, int> admin(const std::vector<std::string>& op_words,
                                std::span<const std::uint8_t> input) const {
    std::vector<std::string> words = {"admin"};
    words.insert(words.end(), op_words.begin(), op_words.end());
    words.emplace_back("--json");
    auto result = remote_.run(words, input);
    if (!result) return report_failure(kCommand, result.error());
    if (result->status == 0) {
      auto reply = parse_reply(first_line(result->out));
      if (!reply) return report_failure(kCommand, reply.error());
      return std::move(*reply);
    }
    forward_remote_stderr(result->err);
    if (result->status == 126 || result->status == 127) {
      return report_failure(kCommand, make_error("remote_command_failed",
                                                 "the instance cannot run remo-brokerctl (exit status " +
                                                     std::to_string(result->status) +
                                                     "); install it there or pass --remote-command PATH"));
    }
    if (!exit_code::is_known(result->status)) {
      return report_failure(
          kCommand, make_error("remote_command_failed", "the instance-side command failed with exit status " +
                                                            std::to_string(result->status)));
    }
    return result->status;
  }

 private:
  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }
  static void forward_remote_stderr(const std::string& text) {
    std::size_t start = 0;
    while (start < text.size()) {
      const auto end = text.find('\n', start);
      const std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!line.empty()) std::fprintf(stderr, "remo-brokerctl push: instance: %s\n", line.c_str());
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  SshRemote remote_;
};

// Fetches the instance's recipient and checks it against the pin; pins it the first time (or with
// --repin) unless dry_run. Returns the recipient or the exit status to stop with.
std::variant<crypto::X25519Recipient, int> checked_recipient(const Instance& instance, bool repin,
                                                             bool dry_run) {
  auto reply = instance.admin({std::string(protocol::op::kGetPublicKey)}, {});
  if (const int* status = std::get_if<int>(&reply)) return *status;
  const Json& json = std::get<Json>(reply);
  auto recipient = crypto::X25519Recipient::parse(json.value("recipient", std::string()));
  if (!recipient) {
    return report_failure(
        kCommand, make_error(std::string(kMalformedReply), "the instance's recipient is not an age1... key"));
  }
  const std::string advertised = recipient->encode();
  const std::string name = instance.remote().instance_name();
  const KnownInstances known(KnownInstances::default_path());
  auto pinned = known.find(name);
  if (!pinned) return report_failure(kCommand, pinned.error());
  if (*pinned && **pinned == advertised) return *recipient;
  if (*pinned && !repin) {
    return report_failure(
        kCommand,
        make_error("recipient_changed", "the recipient of " + name + " changed: pinned " + **pinned +
                                            ", the instance now says " + advertised +
                                            ". Nothing was sent. If the instance's key was rotated or the "
                                            "instance rebuilt, run again with --repin (pins are in " +
                                            known.path() + ")"));
  }
  if (dry_run) {
    std::fprintf(stderr, "remo-brokerctl push: would pin %s to %s\n", name.c_str(), advertised.c_str());
    return *recipient;
  }
  if (auto pinned_now = known.pin(name, advertised); !pinned_now)
    return report_failure(kCommand, pinned_now.error());
  std::fprintf(stderr, "remo-brokerctl push: %s %s to %s in %s\n", *pinned ? "re-pinned" : "pinned",
               name.c_str(), advertised.c_str(), known.path().c_str());
  return *recipient;
}

int dry_run(const Instance& instance, const core::SecretSet& bundle) {
  std::array<std::uint8_t, core::kDigestKeySize> key{};
  randombytes_buf(key.data(), key.size());
  const std::string key_line = crypto::base64::encode(key, crypto::base64::Padding::kRequired) + "\n";
  auto reply = instance.admin({std::string(protocol::op::kSecretDigests)}, bytes_of(key_line));
  if (const int* status = std::get_if<int>(&reply)) return *status;
  const Json& digests = std::get<Json>(reply)["digests"];
  if (!digests.is_object()) {
    return report_failure(
        kCommand, make_error(std::string(kMalformedReply), "the secret-digests reply has no digests object"));
  }
  std::vector<std::string> added;
  std::vector<std::string> changed;
  std::vector<std::string> removed;
  for (const std::string& name : bundle.names()) {
    const core::SecretEntry* value = bundle.find(name);
    const auto remote = digests.find(name);
    if (remote == digests.end()) {
      added.push_back(name);
    } else if (!remote->is_string() || *remote != core::secret_digest_hex(key, name, value->bytes.span())) {
      changed.push_back(name);
    }
  }
  for (const auto& [name, digest] : digests.items()) {
    if (bundle.find(name) == nullptr) removed.push_back(name);
  }
  sodium_memzero(key.data(), key.size());
  for (const auto& name : added) std::printf("+ %s (added)\n", name.c_str());
  for (const auto& name : changed) std::printf("~ %s (changed)\n", name.c_str());
  for (const auto& name : removed) std::printf("- %s (removed)\n", name.c_str());
  const std::size_t unchanged = bundle.size() - added.size() - changed.size();
  std::printf("%zu added, %zu changed, %zu removed, %zu unchanged (dry run: nothing was pushed)\n",
              added.size(), changed.size(), removed.size(), unchanged);
  return kExitOk;
}

// ssh-keygen -Y sign over the ciphertext, fed on stdin; the armored signature.
Result<std::string> sign(const std::string& key_path, std::span<const std::uint8_t> ciphertext) {
  auto result =
      run_process({"ssh-keygen", "-q", "-Y", "sign", "-n", "remo-broker", "-f", key_path}, ciphertext);
  if (!result) return std::move(result).error();
  if (result->status != 0 || !result->out.starts_with("-----BEGIN SSH SIGNATURE-----")) {
    std::string reason = result->err;
    while (!reason.empty() && reason.back() == '\n') reason.pop_back();
    return make_error("signature", "ssh-keygen could not sign with " + key_path + ": " + reason);
  }
  return std::move(result->out);
}

}  // namespace

int run_push(CommandArgs args) {
  static constexpr std::array<OptionSpec, 7> kSpecs{{{'\0', "secrets", true},
                                                     {'\0', "ssh-option", true},
                                                     {'\0', "sign-key", true},
                                                     {'\0', "repin", false},
                                                     {'\0', "dry-run", false},
                                                     {'\0', "remote-command", true},
                                                     {'\0', "json", false}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit(kCommand, args, kSpecs, kUsage, parsed)) return *done;
  if (parsed.positionals.size() != 1) return usage_failure(kCommand, "expects one [USER@]HOST", kUsage);
  const std::string& destination = parsed.positionals.front();
  if (destination.empty() || destination.starts_with('-')) {
    return usage_failure(kCommand, "HOST must not be empty or start with '-'", kUsage);
  }
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  auto plaintext = read_secret(parsed.last("secrets").value_or("-"));
  if (!plaintext) return report_failure(kCommand, plaintext.error());
  auto bundle = core::SecretSet::parse_bundle(plaintext->view());
  if (!bundle) {
    return report_failure(kCommand,
                          make_error(bundle.error().code,
                                     "the bundle is not valid, nothing was sent: " + bundle.error().message));
  }

  const Instance instance(SshRemote(destination, parsed.all("ssh-option"),
                                    parsed.last("remote-command").value_or("remo-brokerctl")));
  const bool is_dry_run = parsed.has("dry-run");
  auto recipient = checked_recipient(instance, parsed.has("repin"), is_dry_run);
  if (const int* status = std::get_if<int>(&recipient)) return *status;
  if (is_dry_run) return dry_run(instance, *bundle);

  const std::array recipients{std::get<crypto::X25519Recipient>(recipient)};
  auto ciphertext = crypto::encrypt(plaintext->span(), recipients, false);
  plaintext->reset();
  if (!ciphertext) return report_failure(kCommand, ciphertext.error());

  std::vector<std::string> op = {std::string(protocol::op::kPushCreds)};
  std::vector<std::uint8_t> input;
  if (const auto key = parsed.last("sign-key")) {
    auto signature = sign(*key, *ciphertext);
    if (!signature) return report_failure(kCommand, signature.error());
    op.emplace_back("--signature-on-stdin");
    input.assign(signature->begin(), signature->end());
  }
  input.insert(input.end(), ciphertext->begin(), ciphertext->end());
  auto reply = instance.admin(op, input);
  if (const int* status = std::get_if<int>(&reply)) return *status;
  const Json& json = std::get<Json>(reply);
  if (parsed.has("json")) {
    std::puts(json.dump().c_str());
  } else {
    std::printf("pushed %s secrets to %s (loaded at %s)\n", json.value("secret_count", Json()).dump().c_str(),
                instance.remote().instance_name().c_str(), json.value("loaded_at", std::string("?")).c_str());
  }
  return kExitOk;
}

}  // namespace remo::cli
