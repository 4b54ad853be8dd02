// remo-brokerctl: the command-line client. `remo-brokerctl <command> [options]`.
#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cli/command.hpp"
#include "broker/cli/exit_codes.hpp"

namespace remo::cli {
namespace {

// Every command, in the order --help lists them. A new command is a new file plus one line here.
constexpr std::array kCommands = {
    Command{command_name::kKeygen, "generate an age X25519 identity (like age-keygen)", run_keygen},
    Command{command_name::kRecipient, "print the recipient of each identity (like age-keygen -y)",
            run_recipient},
    Command{command_name::kEncrypt, "encrypt a file to age recipients", run_encrypt},
    Command{command_name::kDecrypt, "decrypt an age file (all-or-nothing)", run_decrypt},
    Command{command_name::kRotate, "replace the broker's bootstrap key (admin, on the instance)", run_rotate},
    Command{command_name::kAdmin,
            "run an admin op on the instance's broker (status, register, claim-create, ...)", run_admin},
    Command{command_name::kPush, "laptop: encrypt a bundle and load it into an instance's broker over ssh",
            run_push},
    Command{command_name::kGet, "devcontainer: print one secret", run_get},
    Command{command_name::kExec, "devcontainer: run a command with secrets in its environment only",
            run_exec},
    Command{command_name::kClaim, "worker: claim a one-shot secret (token from $REMO_CLAIM_TOKEN or stdin)",
            run_claim},
    Command{command_name::kGitCredential, "devcontainer: git credential helper backed by the broker",
            run_git_credential},
};

void print_usage(std::FILE* out) {
  std::fputs("usage: remo-brokerctl <command> [options]\n\ncommands:\n", out);
  for (const Command& command : kCommands) {
    std::fprintf(out, "  %-15.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                 static_cast<int>(command.summary.size()), command.summary.data());
  }
  std::fputs("\nRun `remo-brokerctl <command> --help` for a command's options.\n\n", out);
  std::fwrite(exit_code::kHelpTable.data(), 1, exit_code::kHelpTable.size(), out);
}

int dispatch(const std::vector<std::string_view>& argv) {
  if (argv.empty()) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string_view name = argv.front();
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    return kExitOk;
  }
  if (name == "--version") {
    std::puts("remo-brokerctl " REMO_BROKER_VERSION);
    return kExitOk;
  }
  for (const Command& command : kCommands) {
    if (command.name == name) return command.run(CommandArgs(argv).subspan(1));
  }
  std::fprintf(stderr, "remo-brokerctl: unknown command '%.*s'\n\n", static_cast<int>(name.size()),
               name.data());
  print_usage(stderr);
  return kExitUsage;
}

}  // namespace
}  // namespace remo::cli

int main(int argc, char** argv) {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return remo::cli::dispatch(args);
}
