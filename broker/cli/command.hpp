// The commands of remo-brokerctl. Each command group lives in its own file and exposes its entry
// points here; main.cpp lists them in one table. A command receives the arguments after its name and
// returns the process exit status.
#pragma once

#include <span>
#include <string_view>

#include "protocol/ops.hpp"

namespace remo::cli {

// The command words of remo-brokerctl, in one place. `get` and `claim` are the project ops of those
// names by definition (each command sends that op), so they are spelled from protocol::op.
namespace command_name {
inline constexpr std::string_view kKeygen = "keygen";
inline constexpr std::string_view kRecipient = "recipient";
inline constexpr std::string_view kEncrypt = "encrypt";
inline constexpr std::string_view kDecrypt = "decrypt";
inline constexpr std::string_view kRotate = "rotate";
inline constexpr std::string_view kAdmin = "admin";
inline constexpr std::string_view kPush = "push";
inline constexpr std::string_view kGet = protocol::op::kGet;
inline constexpr std::string_view kExec = "exec";
inline constexpr std::string_view kClaim = protocol::op::kClaim;
inline constexpr std::string_view kGitCredential = "git-credential";
}  // namespace command_name

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
