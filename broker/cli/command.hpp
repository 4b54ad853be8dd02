// The commands of remo-brokerctl. Each command group lives in its own file and exposes its entry
// points here; main.cpp lists them in one table. A command receives the arguments after its name and
// returns the process exit status.
#pragma once

#include <span>
#include <string_view>

namespace remo::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

using CommandArgs = std::span<const std::string_view>;

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(CommandArgs args);
};

// crypto_commands.cpp
int run_keygen(CommandArgs args);
int run_recipient(CommandArgs args);
int run_encrypt(CommandArgs args);
int run_decrypt(CommandArgs args);

// rotate_command.cpp
int run_rotate(CommandArgs args);

// admin_commands.cpp
int run_admin(CommandArgs args);

// push_command.cpp
int run_push(CommandArgs args);

// project_commands.cpp (inside a devcontainer)
int run_get(CommandArgs args);
int run_exec(CommandArgs args);
int run_claim(CommandArgs args);

// git_credential.cpp
int run_git_credential(CommandArgs args);

}  // namespace remo::cli
