#include "broker/cli/args.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <vector>

#include "broker/cli/cli_output.hpp"
#include "broker/cli/exit_codes.hpp"

namespace remo::cli {
namespace {

constexpr std::array<OptionSpec, 4> kSpecs{
    {{'n', "no-newline", false}, {'o', "output", true}, {'\0', "socket", true}, {'\0', "json", false}}};

Result<ParsedArgs> parse(std::vector<std::string_view> args) { return parse_args(args, kSpecs); }

// The message of a usage error, after checking that the error is one and maps to exit status 2.
std::string usage_message(std::vector<std::string_view> args) {
  auto parsed = parse(std::move(args));
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) return {};
  EXPECT_EQ(parsed.error().code, "usage");
  EXPECT_EQ(exit_status_for(parsed.error()), exit_code::kUsage);
  return parsed.error().message;
}

TEST(ParseArgs, FlagsGetOneEmptyValueEach) {
  auto parsed = parse({"-n", "--json", "--no-newline"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->has("no-newline"));
  EXPECT_EQ(parsed->all("no-newline"), (std::vector<std::string>{"", ""}));
  EXPECT_TRUE(parsed->has("json"));
  EXPECT_FALSE(parsed->has("socket"));
  EXPECT_FALSE(parsed->help);
}

TEST(ParseArgs, ValuesComeFromTheNextWordTheEqualsSignOrTheShortOptionItself) {
  auto parsed = parse({"--socket", "/a", "--socket=/b", "-o", "x", "-oy", "--output=z"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->all("socket"), (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(parsed->last("socket"), "/b");
  EXPECT_EQ(parsed->all("output"), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(parsed->last("missing"), std::nullopt);
  EXPECT_TRUE(parsed->all("missing").empty());
}

TEST(ParseArgs, AValueMayStartWithADashOrBeEmpty) {
  auto parsed = parse({"--socket", "-weird", "--output="});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->last("socket"), "-weird");
  EXPECT_EQ(parsed->last("output"), "");
}

TEST(ParseArgs, PositionalsKeepTheirOrderAndDashIsOne) {
  auto parsed = parse({"a", "-n", "-", "b"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->positionals, (std::vector<std::string>{"a", "-", "b"}));
}

TEST(ParseArgs, DoubleDashEndsTheOptions) {
  auto parsed = parse({"-n", "--", "--json", "-x"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has("json"));
  EXPECT_EQ(parsed->positionals, (std::vector<std::string>{"--json", "-x"}));
}

TEST(ParseArgs, HelpIsNotedAndParsingGoesOn) {
  for (const std::string_view help : {"-h", "--help"}) {
    auto parsed = parse({help, "--json"});
    ASSERT_TRUE(parsed.ok()) << help;
    EXPECT_TRUE(parsed->help) << help;
    EXPECT_TRUE(parsed->has("json")) << help;
  }
}

TEST(ParseArgs, UnknownOptionsAreUsageErrorsNamingTheOption) {
  EXPECT_EQ(usage_message({"--nope"}), "unknown option --nope");
  EXPECT_EQ(usage_message({"-x"}), "unknown option -x");
  EXPECT_EQ(usage_message({"--nope=1"}), "unknown option --nope=1");
}

TEST(ParseArgs, ShortFlagsAreNotBundled) { EXPECT_EQ(usage_message({"-nn"}), "unknown option -nn"); }

TEST(ParseArgs, AMissingValueIsAUsageError) {
  EXPECT_EQ(usage_message({"--socket"}), "option --socket needs a value");
  EXPECT_EQ(usage_message({"-n", "-o"}), "option -o needs a value");
}

TEST(ParseArgs, AFlagGivenAValueIsAUsageError) {
  EXPECT_EQ(usage_message({"--json=yes"}), "option --json=yes takes no value");
}

}  // namespace
}  // namespace remo::cli
