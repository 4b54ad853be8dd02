#include "broker/cli/args.hpp"

namespace remo::cli {
namespace {

Error usage_error(std::string message) { return make_error("usage", std::move(message)); }

}  // namespace

std::vector<std::string> ParsedArgs::all(std::string_view name) const {
  const auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

std::optional<std::string> ParsedArgs::last(std::string_view name) const {
  const auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

Result<ParsedArgs> parse_args(std::span<const std::string_view> args, std::span<const OptionSpec> specs) {
  ParsedArgs parsed;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (options_done || arg == "-" || !arg.starts_with('-')) {
      parsed.positionals.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      std::string_view name = arg.substr(2);
      if (const auto eq = name.find('='); eq != std::string_view::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      for (const OptionSpec& candidate : specs) {
        if (candidate.long_name == name) spec = &candidate;
      }
    } else {
      for (const OptionSpec& candidate : specs) {
        if (candidate.short_name != '\0' && candidate.short_name == arg[1]) spec = &candidate;
      }
      if (spec != nullptr && arg.size() > 2) {
        if (!spec->takes_value)
          spec = nullptr;  // no bundling of flags: "-ab" is unknown
        else
          inline_value = arg.substr(2);
      }
    }
    if (spec == nullptr) return usage_error("unknown option " + std::string(arg));
    auto& slot = parsed.values[std::string(spec->long_name)];
    if (!spec->takes_value) {
      if (inline_value) return usage_error("option " + std::string(arg) + " takes no value");
      slot.emplace_back();
      continue;
    }
    if (inline_value) {
      slot.emplace_back(*inline_value);
    } else if (i + 1 < args.size()) {
      slot.emplace_back(args[++i]);
    } else {
      return usage_error("option " + std::string(arg) + " needs a value");
    }
  }
  return parsed;
}

}  // namespace remo::cli
