#include "broker/cli/cli_output.hpp"

#include <string>

#include "broker/cli/exit_codes.hpp"

namespace remo::cli {
namespace {

void print_scalar(const Json& value, std::FILE* out) {
  if (value.is_string()) {
    std::fputs(value.get_ref<const std::string&>().c_str(), out);
  } else if (value.is_null()) {
    std::fputs("-", out);
  } else {
    std::fputs(value.dump().c_str(), out);
  }
}

void print_members(const Json& object, int indent, std::FILE* out) {
  for (const auto& [key, value] : object.items()) {
    if (indent == 0 && (key == "ok" || key == "id")) continue;
    std::fprintf(out, "%*s%s:", indent, "", key.c_str());
    if (value.is_object()) {
      std::fputs(value.empty() ? " -\n" : "\n", out);
      print_members(value, indent + 2, out);
    } else if (value.is_array() && !value.empty() && value.front().is_object()) {
      std::fputs("\n", out);
      for (const Json& element : value) {
        std::fprintf(out, "%*s-\n", indent + 2, "");
        print_members(element, indent + 4, out);
      }
    } else if (value.is_array()) {
      std::fputs(" ", out);
      bool first = true;
      for (const Json& element : value) {
        if (!first) std::fputs(", ", out);
        print_scalar(element, out);
        first = false;
      }
      if (value.empty()) std::fputs("(none)", out);
      std::fputs("\n", out);
    } else {
      std::fputs(" ", out);
      print_scalar(value, out);
      std::fputs("\n", out);
    }
  }
}

}  // namespace

int exit_status_for(const Error& error) {
  const std::string_view code = error.code;
  if (code == "usage") return exit_code::kUsage;
  if (code == kBrokerNotRunning) return exit_code::kBrokerNotRunning;
  if (code == kSocketPermission) return exit_code::kSocketPermission;
  if (code == kMalformedReply) return exit_code::kMalformedReply;
  if (code == kUnknownBrokerCode) return exit_code::kUnknownBrokerCode;
  if (code == "ssh_unreachable") return exit_code::kSshUnreachable;
  if (code == "host_key") return exit_code::kHostKeyProblem;
  if (code == "recipient_changed") return exit_code::kRecipientChanged;
  if (code == "remote_command_failed") return exit_code::kRemoteCommandFailed;
  const int status = exit_code::for_broker_code(code);
  return status == exit_code::kUnknownBrokerCode ? exit_code::kFailure : status;
}

int report_failure(std::string_view command, const Error& error) {
  std::fprintf(stderr, "remo-brokerctl %.*s: %s: %s\n", static_cast<int>(command.size()), command.data(),
               error.code.c_str(), error.message.c_str());
  return exit_status_for(error);
}

int usage_failure(std::string_view command, std::string_view message, std::string_view usage) {
  std::fprintf(stderr, "remo-brokerctl %.*s: %.*s\n%.*s", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data(), static_cast<int>(usage.size()),
               usage.data());
  return kExitUsage;
}

std::optional<int> parse_or_exit(std::string_view command, CommandArgs args,
                                 std::span<const OptionSpec> specs, std::string_view usage,
                                 ParsedArgs& parsed) {
  auto result = parse_args(args, specs);
  if (!result) return usage_failure(command, result.error().message, usage);
  parsed = std::move(result).value();
  if (parsed.help) {
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return kExitOk;
  }
  return std::nullopt;
}

void print_human(const Json& reply, std::FILE* out) { print_members(reply, 0, out); }

int print_reply(std::string_view command, const Json& reply, bool json) {
  if (json) std::puts(reply.dump().c_str());
  if (reply.value("ok", false) != true) return report_failure(command, failure_of(reply));
  if (!json) print_human(reply, stdout);
  return kExitOk;
}

}  // namespace remo::cli
