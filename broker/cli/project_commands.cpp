// get, exec and claim: the commands run inside a devcontainer, against the project socket bind-mounted at
// /run/remo-broker/project.sock (README, "Devcontainer"). Values go from secure memory to stdout or to a
// child's environment, nowhere else; claim tokens are read from the environment or stdin so that they are
// not in argv, where every process of the container can read them.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/command_input.hpp"
#include "broker/cli/exit_codes.hpp"
#include "broker/cli/io.hpp"
#include "broker/cli/project_client.hpp"
#include "broker/core/secret_set.hpp"

extern char** environ;  // NOLINT: POSIX

namespace remo::cli {
namespace {

constexpr std::string_view kSocketHelp =
    "  --socket PATH   project socket (default $REMO_BROKER_SOCKET, else /run/remo-broker/project.sock)\n";

const std::string kGetUsage =
    std::string(
        "usage: remo-brokerctl get NAME [-n] [--socket PATH]\n"
        "\n"
        "Prints the secret NAME from the project's broker, followed by a newline unless -n.\n"
        "\n"
        "  -n, --no-newline  print the value alone\n") +
    std::string(kSocketHelp) + "\n" + std::string(exit_code::kHelpTable);

const std::string kExecUsage =
    std::string(
        "usage: remo-brokerctl exec [--env NAME[=VAR]]... [--socket PATH] -- CMD [ARGS...]\n"
        "\n"
        "Runs CMD with each secret NAME in its environment as VAR (default: NAME). The values are in CMD's\n"
        "environment only: not in any argv, not on disk, not in this shell. Exits with CMD's status\n"
        "(127: CMD not found, 126: not executable).\n"
        "\n"
        "  --env NAME[=VAR]  a secret to pass (repeatable)\n") +
    std::string(kSocketHelp) + "\n" + std::string(exit_code::kHelpTable);

const std::string kClaimUsage =
    std::string(
        "usage: remo-brokerctl claim [-n] [--delete] [--socket PATH] [TOKEN]\n"
        "\n"
        "Claims a one-shot secret and prints its value (it cannot be claimed again). The token is read from\n"
        "$REMO_CLAIM_TOKEN, else from the first line of stdin. A TOKEN argument works too, but every "
        "process\n"
        "that can list processes sees argv: prefer the environment or stdin.\n"
        "\n"
        "  -n, --no-newline  print the value alone\n"
        "  --delete          discard the one-shot secret without reading it\n") +
    std::string(kSocketHelp) + "\n" + std::string(exit_code::kHelpTable);

// claim --delete sends the project op delete instead of claim: the option is named after that op.
constexpr std::string_view kDeleteOption = protocol::op::kDelete;

// Straight from secure memory to stdout: no stdio buffer holds the value.
int write_value(std::string_view command, const crypto::SecureBuffer& value, bool newline) {
  std::fflush(stdout);
  auto written = write_output("-", value.span(), 0600);
  if (written && newline)
    written = write_output("-", std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>("\n"), 1),
                           0600);  // NOLINT
  return written ? kExitOk : report_failure(command, written.error());
}

// "VAR=value\0" for each secret, in secure memory until exec replaces this process image.
Result<std::vector<crypto::SecureBuffer>> fetch_assignments(const std::string& socket_path,
                                                            const std::vector<WantedSecret>& wanted) {
  std::vector<crypto::SecureBuffer> assignments;
  for (const WantedSecret& item : wanted) {
    auto value = get_secret(socket_path, item.secret);
    if (!value) return std::move(value).error();
    if (std::memchr(value->data(), '\0', value->size()) != nullptr) {
      return make_error("usage",
                        "secret " + item.secret + " holds a NUL byte and cannot be an environment variable");
    }
    crypto::SecureBuffer assignment(item.variable.size() + 1 + value->size() + 1);
    std::memcpy(assignment.data(), item.variable.data(), item.variable.size());
    assignment.data()[item.variable.size()] = '=';
    std::memcpy(assignment.data() + item.variable.size() + 1, value->data(), value->size());
    assignments.push_back(std::move(assignment));  // ends in the zero the buffer was allocated with
  }
  return assignments;
}

// Replaces this process with command, its environment this one's minus the wanted variables plus the
// assignments. Returns only when exec fails: 127 when command is not found, else 126.
int exec_with_secrets(CommandArgs command, const std::vector<WantedSecret>& wanted,
                      std::vector<crypto::SecureBuffer>& assignments) {
  std::vector<char*> envp;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const bool replaced = std::any_of(wanted.begin(), wanted.end(), [&](const WantedSecret& item) {
      return text.starts_with(item.variable) && text.size() > item.variable.size() &&
             text[item.variable.size()] == '=';
    });
    if (!replaced) envp.push_back(*entry);
  }
  for (crypto::SecureBuffer& assignment : assignments)
    envp.push_back(reinterpret_cast<char*>(assignment.data()));  // NOLINT
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage(command.begin(), command.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  ::execvpe(argv.front(), argv.data(), envp.data());
  const int err = errno;
  std::fprintf(stderr, "remo-brokerctl exec: cannot run %s: %s\n", argv.front(), std::strerror(err));
  return err == ENOENT ? 127 : 126;
}

}  // namespace

int run_get(CommandArgs args) {
  static constexpr std::array<OptionSpec, 2> kSpecs{{{'n', "no-newline", false}, {'\0', "socket", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit(command_name::kGet, args, kSpecs, kGetUsage, parsed)) return *done;
  if (parsed.positionals.size() != 1)
    return usage_failure(command_name::kGet, "expects one secret NAME", kGetUsage);
  const std::string& name = parsed.positionals.front();
  if (!core::is_valid_secret_name(name)) {
    return usage_failure(command_name::kGet, "NAME must match ^[A-Za-z0-9_]{1,128}$", kGetUsage);
  }
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto value = get_secret(resolve_socket(SocketKind::kProject, parsed.last("socket")), name);
  if (!value) return report_failure(command_name::kGet, value.error());
  return write_value(command_name::kGet, *value, !parsed.has("no-newline"));
}

int run_exec(CommandArgs args) {
  static constexpr std::array<OptionSpec, 2> kSpecs{{{'\0', "env", true}, {'\0', "socket", true}}};
  std::size_t separator = 0;
  while (separator < args.size() && args[separator] != "--") ++separator;
  ParsedArgs parsed;
  if (auto done = parse_or_exit("exec", args.first(separator), kSpecs, kExecUsage, parsed)) return *done;
  if (!parsed.positionals.empty()) {
    return usage_failure("exec", "unexpected argument " + parsed.positionals.front() + " (put CMD after --)",
                         kExecUsage);
  }
  if (separator + 1 >= args.size()) return usage_failure("exec", "expects -- CMD [ARGS...]", kExecUsage);
  auto wanted = parse_env_specs(parsed.all("env"));
  if (!wanted) return usage_failure("exec", wanted.error().message, kExecUsage);

  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto assignments = fetch_assignments(resolve_socket(SocketKind::kProject, parsed.last("socket")), *wanted);
  if (!assignments) return report_failure("exec", assignments.error());
  return exec_with_secrets(args.subspan(separator + 1), *wanted, *assignments);
}

int run_claim(CommandArgs args) {
  static constexpr std::array<OptionSpec, 3> kSpecs{
      {{'n', "no-newline", false}, {'\0', kDeleteOption, false}, {'\0', "socket", true}}};
  ParsedArgs parsed;
  if (auto done = parse_or_exit(command_name::kClaim, args, kSpecs, kClaimUsage, parsed)) return *done;
  if (parsed.positionals.size() > 1)
    return usage_failure(command_name::kClaim, "expects at most one TOKEN", kClaimUsage);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  crypto::SecureBuffer token;
  const char* from_env = std::getenv("REMO_CLAIM_TOKEN");
  if (!parsed.positionals.empty()) {
    std::fputs(
        "remo-brokerctl claim: warning: a token in argv is visible to every process that lists "
        "processes; prefer REMO_CLAIM_TOKEN or stdin\n",
        stderr);
    token = crypto::SecureBuffer::copy_of(std::string_view(parsed.positionals.front()));
  } else if (from_env != nullptr && *from_env != '\0') {
    token = crypto::SecureBuffer::copy_of(std::string_view(from_env));
  } else {
    auto input = read_secret("-");
    if (!input) return report_failure(command_name::kClaim, input.error());
    const std::string_view text = input->view();
    const std::size_t line_end = text.find('\n');
    std::size_t size = line_end == std::string_view::npos ? text.size() : line_end;
    if (size > 0 && text[size - 1] == '\r') --size;
    input->truncate(size);
    token = std::move(*input);
  }
  if (!is_token_text(token.view())) {
    return report_failure(command_name::kClaim,
                          make_error("usage",
                                     "the token is empty or not a claim token (printable ASCII, "
                                     "no spaces or quotes, at most 1024 characters)"));
  }
  const std::string socket_path = resolve_socket(SocketKind::kProject, parsed.last("socket"));
  if (parsed.has(kDeleteOption)) {
    if (auto deleted = delete_claim(socket_path, token); !deleted)
      return report_failure(command_name::kClaim, deleted.error());
    std::fputs("remo-brokerctl claim: the one-shot secret was deleted unread\n", stderr);
    return kExitOk;
  }
  auto value = claim_secret(socket_path, token);
  token.reset();
  if (!value) return report_failure(command_name::kClaim, value.error());
  return write_value(command_name::kClaim, *value, !parsed.has("no-newline"));
}

}  // namespace remo::cli
