// A small getopt-like parser shared by the commands: short and long options, options with values,
// repeated options, positional arguments, "--" and "-h/--help". Unknown options and missing values
// are usage errors.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::cli {

struct OptionSpec {
  char short_name;             // '\0' for none
  std::string_view long_name;  // the key in ParsedArgs::values
  bool takes_value;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>, std::less<>> values;  // flags get one empty value each
  std::vector<std::string> positionals;
  bool help = false;

  bool has(std::string_view name) const { return values.find(name) != values.end(); }
  std::vector<std::string> all(std::string_view name) const;
  // The last value given for name, if any.
  std::optional<std::string> last(std::string_view name) const;
};

// Errors have code "usage" and a message naming the offending argument.
Result<ParsedArgs> parse_args(std::span<const std::string_view> args, std::span<const OptionSpec> specs);

}  // namespace remo::cli
