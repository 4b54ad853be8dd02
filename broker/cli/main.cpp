// remo-brokerctl: the command-line client. `remo-brokerctl <command> [options]`.
#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cli/command.hpp"

namespace remo::cli {
namespace {

// Every command, in the order --help lists them. A new command is a new file plus one line here.
constexpr std::array kCommands = {
    Command{"keygen", "generate an age X25519 identity (like age-keygen)", run_keygen},
    Command{"recipient", "print the recipient of each identity (like age-keygen -y)", run_recipient},
    Command{"encrypt", "encrypt a file to age recipients", run_encrypt},
    Command{"decrypt", "decrypt an age file (all-or-nothing)", run_decrypt},
    Command{"rotate", "replace the broker's bootstrap key (admin, on the instance)", run_rotate},
};

void print_usage(std::FILE* out) {
  std::fputs("usage: remo-brokerctl <command> [options]\n\ncommands:\n", out);
  for (const Command& command : kCommands) {
    std::fprintf(out, "  %-12.*s %.*s\n", static_cast<int>(command.name.size()), command.name.data(),
                 static_cast<int>(command.summary.size()), command.summary.data());
  }
  std::fputs("\nRun `remo-brokerctl <command> --help` for a command's options.\n", out);
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
