// What every command prints: its usage on -h, one stderr line per failure ("remo-brokerctl CMD: CODE:
// sentence"), and broker replies either as JSON (--json, for scripts) or as "key: value" lines. Failures
// map to the exit statuses of exit_codes.hpp here, once.
#pragma once

#include <cstdio>
#include <optional>
#include <span>
#include <string_view>

#include "broker/cli/args.hpp"
#include "broker/cli/broker_client.hpp"
#include "broker/cli/command.hpp"
#include "broker/common/result.hpp"

namespace remo::cli {

// The exit status for an error from any layer (broker codes, the socket client, ssh, usage).
int exit_status_for(const Error& error);

// Prints the failure on stderr and returns its exit status.
int report_failure(std::string_view command, const Error& error);

// Parses args; returns the status to exit with (help printed, or a usage error), or nothing to go on.
std::optional<int> parse_or_exit(std::string_view command, CommandArgs args,
                                 std::span<const OptionSpec> specs, std::string_view usage,
                                 ParsedArgs& parsed);

// A usage error: the sentence and the usage text on stderr; returns kExitUsage.
int usage_failure(std::string_view command, std::string_view message, std::string_view usage);

// An ok reply for people: one "key: value" line per member (arrays of objects indented below their key),
// "ok" and "id" left out. Strings are printed without quotes, null as "-".
void print_human(const Json& reply, std::FILE* out);

// Prints a reply (ok or not) as --json asks or for people; returns its exit status. A failed reply also
// gets its stderr line in both modes.
int print_reply(std::string_view command, const Json& reply, bool json);

}  // namespace remo::cli
