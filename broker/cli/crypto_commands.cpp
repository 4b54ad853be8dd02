// keygen, recipient, encrypt, decrypt: the age commands of remo-brokerctl, interoperable with
// age-keygen and age. Secrets (identities, plaintext) stay in secure memory; errors are one line
// naming the failure class and never quote a key or plaintext.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string>

#include "broker/cli/args.hpp"
#include "broker/cli/command.hpp"
#include "broker/cli/io.hpp"
#include "broker/crypto/age.hpp"

namespace remo::cli {
namespace {

// Every file written here is born 0600, ciphertext too: widening it is the user's choice.
constexpr mode_t kOutputFileMode = 0600;

constexpr std::string_view kKeygenUsage =
    "usage: remo-brokerctl keygen [-o FILE]\n"
    "\n"
    "Generates an age X25519 identity in age-keygen's format. Without -o it is printed on stdout;\n"
    "with -o it goes to a new file (mode 0600, never overwritten) and the public key to stderr.\n"
    "\n"
    "  -o, --output FILE   write the identity to FILE\n";

constexpr std::string_view kRecipientUsage =
    "usage: remo-brokerctl recipient [-i FILE]\n"
    "\n"
    "Prints the recipient (age1...) of every identity in an identity file, one per line\n"
    "(like age-keygen -y). Reads stdin when FILE is absent or -.\n"
    "\n"
    "  -i, --identity FILE   identity file to read\n";

constexpr std::string_view kEncryptUsage =
    "usage: remo-brokerctl encrypt (-r RECIPIENT | -R FILE)... [-a] [-o OUT] [IN]\n"
    "\n"
    "Encrypts IN (stdin when absent or -) to every recipient, in the age v1 format.\n"
    "\n"
    "  -r, --recipient RECIPIENT        an age1... recipient (repeatable)\n"
    "  -R, --recipients-file FILE       a file of recipients, one per line (repeatable)\n"
    "  -a, --armor                      write the PEM-like ASCII armor\n"
    "  -o, --output OUT                 write to OUT (mode 0600, replaced atomically) instead of stdout\n";

constexpr std::string_view kDecryptUsage =
    "usage: remo-brokerctl decrypt -i IDENTITY_FILE [-i ...] [-o OUT] [IN]\n"
    "\n"
    "Decrypts an age file (binary or armored) from IN (stdin when absent or -). Nothing is written\n"
    "unless the whole file authenticates; OUT is replaced atomically by a file of mode 0600 (never\n"
    "written through a symbolic link, FIFO or device: those are refused; -o - is standard output).\n"
    "\n"
    "  -i, --identity FILE   an identity file (repeatable)\n"
    "  -o, --output OUT      write to OUT instead of stdout\n";

int usage_error(std::string_view command, std::string_view message, std::string_view usage) {
  std::fprintf(stderr, "remo-brokerctl: %.*s: %.*s\n%.*s", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data(), static_cast<int>(usage.size()),
               usage.data());
  return kExitUsage;
}

int failure(std::string_view command, const Error& error) {
  std::fprintf(stderr, "remo-brokerctl: %.*s: %s: %s\n", static_cast<int>(command.size()), command.data(),
               error.code.c_str(), error.message.c_str());
  return kExitFailure;
}

// Parses args for a command; returns an exit status to stop with, or nothing to go on.
std::optional<int> parse_or_exit(std::string_view command, CommandArgs args,
                                 std::span<const OptionSpec> specs, std::string_view usage,
                                 std::size_t max_positionals, ParsedArgs& parsed) {
  auto result = parse_args(args, specs);
  if (!result) return usage_error(command, result.error().message, usage);
  parsed = std::move(result).value();
  if (parsed.help) {
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return kExitOk;
  }
  if (parsed.positionals.size() > max_positionals) {
    return usage_error(command, "unexpected argument " + parsed.positionals[max_positionals], usage);
  }
  return std::nullopt;
}

Result<std::vector<crypto::X25519Identity>> load_identities(const std::vector<std::string>& paths) {
  std::vector<crypto::X25519Identity> identities;
  for (const std::string& path : paths) {
    auto text = read_secret(path);
    if (!text) return std::move(text).error();
    auto parsed = crypto::parse_identity_file(text->view());
    if (!parsed) {
      return make_error(parsed.error().code, "identity file " +
                                                 (is_stdio(path) ? std::string("(stdin)") : path) + ": " +
                                                 parsed.error().message);
    }
    for (auto& identity : *parsed) identities.push_back(std::move(identity));
  }
  return identities;
}

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};  // NOLINT: byte view
}

}  // namespace

int run_keygen(CommandArgs args) {
  static constexpr std::array<OptionSpec, 1> kSpecs{{{'o', "output", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit("keygen", args, kSpecs, kKeygenUsage, 0, parsed)) return *done;

  const auto identity = crypto::X25519Identity::generate();
  const crypto::SecureBuffer file = crypto::format_identity_file(identity);
  const std::string public_line = "Public key: " + identity.recipient().encode() + "\n";
  const auto output = parsed.last("output");
  if (output && !is_stdio(*output)) {
    if (auto created = create_new_file(*output, file.span(), kOutputFileMode); !created) {
      return failure("keygen", created.error());
    }
    std::fputs(public_line.c_str(), stderr);
    return kExitOk;
  }
  if (auto written = write_output("-", file.span(), kOutputFileMode); !written) {
    return failure("keygen", written.error());
  }
  // Like age-keygen: when the identity does not go to a terminal, show the public key on stderr.
  if (::isatty(STDOUT_FILENO) == 0) std::fputs(public_line.c_str(), stderr);
  return kExitOk;
}

int run_recipient(CommandArgs args) {
  static constexpr std::array<OptionSpec, 1> kSpecs{{{'i', "identity", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit("recipient", args, kSpecs, kRecipientUsage, 0, parsed)) return *done;

  auto identities = load_identities({parsed.last("identity").value_or("-")});
  if (!identities) return failure("recipient", identities.error());
  std::string out;
  for (const auto& identity : *identities) out += identity.recipient().encode() + "\n";
  if (auto written = write_output("-", bytes_of(out), kOutputFileMode); !written) {
    return failure("recipient", written.error());
  }
  return kExitOk;
}

int run_encrypt(CommandArgs args) {
  static constexpr std::array<OptionSpec, 4> kSpecs{{{'r', "recipient", true},
                                                     {'R', "recipients-file", true},
                                                     {'a', "armor", false},
                                                     {'o', "output", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit("encrypt", args, kSpecs, kEncryptUsage, 1, parsed)) return *done;
  if (!parsed.has("recipient") && !parsed.has("recipients-file")) {
    return usage_error("encrypt", "at least one -r or -R is required", kEncryptUsage);
  }

  std::vector<crypto::X25519Recipient> recipients;
  for (const std::string& text : parsed.all("recipient")) {
    auto recipient = crypto::X25519Recipient::parse(text);
    if (!recipient) return failure("encrypt", recipient.error());
    recipients.push_back(*recipient);
  }
  for (const std::string& path : parsed.all("recipients-file")) {
    auto bytes = read_bytes(path);
    if (!bytes) return failure("encrypt", bytes.error());
    const auto span = bytes->span();
    auto file = crypto::parse_recipients_file(
        std::string_view(reinterpret_cast<const char*>(span.data()), span.size()));  // NOLINT
    if (!file) {
      return failure("encrypt",
                     make_error(file.error().code, "recipients file " + path + ": " + file.error().message));
    }
    recipients.insert(recipients.end(), file->begin(), file->end());
  }

  const bool armor = parsed.has("armor");
  const std::string output = parsed.last("output").value_or("-");
  if (!armor && is_stdio(output) && ::isatty(STDOUT_FILENO) != 0) {
    return failure("encrypt", make_error("usage",
                                         "refusing to write binary ciphertext to a terminal; "
                                         "use -a or -o"));
  }
  auto plaintext = read_secret(parsed.positionals.empty() ? "-" : parsed.positionals.front());
  if (!plaintext) return failure("encrypt", plaintext.error());
  auto ciphertext = crypto::encrypt(plaintext->span(), recipients, armor);
  plaintext->reset();
  if (!ciphertext) return failure("encrypt", ciphertext.error());
  if (auto written = write_output(output, *ciphertext, kOutputFileMode); !written) {
    return failure("encrypt", written.error());
  }
  return kExitOk;
}

int run_decrypt(CommandArgs args) {
  static constexpr std::array<OptionSpec, 2> kSpecs{{{'i', "identity", true}, {'o', "output", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit("decrypt", args, kSpecs, kDecryptUsage, 1, parsed)) return *done;
  if (!parsed.has("identity")) return usage_error("decrypt", "at least one -i is required", kDecryptUsage);

  const std::string input = parsed.positionals.empty() ? "-" : parsed.positionals.front();
  const auto identity_paths = parsed.all("identity");
  if (is_stdio(input) && std::any_of(identity_paths.begin(), identity_paths.end(),
                                     [](const std::string& path) { return is_stdio(path); })) {
    return usage_error("decrypt", "standard input cannot hold both an identity file and the ciphertext",
                       kDecryptUsage);
  }
  auto identities = load_identities(identity_paths);
  if (!identities) return failure("decrypt", identities.error());
  auto ciphertext = read_bytes(input);
  if (!ciphertext) return failure("decrypt", ciphertext.error());
  auto plaintext = crypto::decrypt(ciphertext->span(), *identities);
  if (!plaintext) return failure("decrypt", plaintext.error());
  if (auto written = write_output(parsed.last("output").value_or("-"), plaintext->span(), kOutputFileMode);
      !written) {
    return failure("decrypt", written.error());
  }
  return kExitOk;
}

}  // namespace remo::cli
