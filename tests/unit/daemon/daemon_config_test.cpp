// The daemon's configuration: defaults, the config file and flags, in that order of precedence.
#include "broker/daemon/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/unit/support/temp_dir.hpp"

namespace remo::daemon {
namespace {

namespace fs = std::filesystem;

class DaemonConfigTest : public ::testing::Test {
 protected:
  DaemonConfigTest() {
    environment_.getenv = [this](const char* name) -> std::optional<std::string> {
      const auto found = variables_.find(name);
      return found == variables_.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
    environment_.default_config_file = dir_ / "etc-config.toml";  // absent unless a test writes it
    environment_.cores = 3;
  }

  Result<CommandLine> parse(std::vector<std::string> args) {
    arg_storage_ = std::move(args);
    std::vector<std::string_view> views(arg_storage_.begin(), arg_storage_.end());
    return parse_command_line(views, environment_);
  }

  DaemonConfig run_config(std::vector<std::string> args) {
    auto parsed = parse(std::move(args));
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    EXPECT_EQ(parsed->action, Action::kRun);
    return parsed->config;
  }

  void write(const fs::path& file, std::string_view text) { std::ofstream(file) << text; }

  server::test_support::TempDir dir_;
  std::map<std::string, std::string, std::less<>> variables_;
  Environment environment_;
  std::vector<std::string> arg_storage_;
};

TEST_F(DaemonConfigTest, SandboxKeepsEverythingUnderOneDirectory) {
  const fs::path sandbox = dir_ / "sb";
  const DaemonConfig config = run_config({"--sandbox", sandbox.string()});
  EXPECT_EQ(config.bootstrap_key, sandbox / "credentials" / "bootstrap-key");
  EXPECT_EQ(config.decryption_key_source, "sandbox");
  EXPECT_EQ(config.socket_dir, sandbox / "run");
  EXPECT_EQ(config.state_dir, sandbox / "state");
  EXPECT_EQ(config.audit_log, sandbox / "log" / "audit.log");
  EXPECT_EQ(config.threads, 3U);
  EXPECT_EQ(config.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(config.max_connections, 4096U);
}

TEST_F(DaemonConfigTest, OutsideASandboxTheSystemPathsAndCredentialsDirectoryApply) {
  variables_["CREDENTIALS_DIRECTORY"] = "/run/credentials/remo-broker.service";
  const DaemonConfig config = run_config({});
  EXPECT_EQ(config.bootstrap_key, "/run/credentials/remo-broker.service/bootstrap-key");
  EXPECT_EQ(config.decryption_key_source, "credentials-directory");
  EXPECT_EQ(config.socket_dir, "/run/remo-broker");
  EXPECT_EQ(config.state_dir, "/var/lib/remo-broker");
  EXPECT_EQ(config.audit_log, "/var/log/remo-broker/audit.log");
}

TEST_F(DaemonConfigTest, TheUnitsCredentialTierIsPartOfTheKeySource) {
  variables_["CREDENTIALS_DIRECTORY"] = "/run/credentials/remo-broker.service";
  for (const std::string tier : {"tpm2", "host", "plaintext"}) {
    variables_["REMO_BROKER_CREDENTIAL_TIER"] = tier;
    EXPECT_EQ(run_config({}).decryption_key_source, "credentials-directory:" + tier);
  }
}

TEST_F(DaemonConfigTest, AnUnknownCredentialTierIsRefusedByName) {
  variables_["CREDENTIALS_DIRECTORY"] = "/run/credentials/remo-broker.service";
  variables_["REMO_BROKER_CREDENTIAL_TIER"] = "tpm3";
  const auto parsed = parse({});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "config");
  EXPECT_NE(parsed.error().message.find("REMO_BROKER_CREDENTIAL_TIER must be one of tpm2, host, plaintext"),
            std::string::npos);
}

TEST_F(DaemonConfigTest, TheCredentialTierDoesNotDescribeAKeyFromAFlag) {
  variables_["CREDENTIALS_DIRECTORY"] = "/run/credentials/remo-broker.service";
  variables_["REMO_BROKER_CREDENTIAL_TIER"] = "tpm2";
  EXPECT_EQ(run_config({"--bootstrap-key", "/k/key"}).decryption_key_source, "flag");
}

TEST_F(DaemonConfigTest, WithoutAnyKeyLocationItRefusesToStart) {
  const auto parsed = parse({});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "config");
  EXPECT_NE(parsed.error().message.find("CREDENTIALS_DIRECTORY"), std::string::npos);
}

TEST_F(DaemonConfigTest, PathFlagsOverrideTheSandboxLayout) {
  const DaemonConfig config =
      run_config({"--sandbox=" + (dir_ / "sb").string(), "--bootstrap-key", "/k/key", "--socket-dir", "/s",
                  "--state-dir=/st", "--audit-log", "/a/audit.log"});
  EXPECT_EQ(config.bootstrap_key, "/k/key");
  EXPECT_EQ(config.decryption_key_source, "flag");
  EXPECT_EQ(config.socket_dir, "/s");
  EXPECT_EQ(config.state_dir, "/st");
  EXPECT_EQ(config.audit_log, "/a/audit.log");
}

TEST_F(DaemonConfigTest, NumbersAreCheckedAndApplied) {
  const DaemonConfig config =
      run_config({"--sandbox", "/sb", "--threads", "2", "--idle-timeout", "5", "--max-connections=10",
                  "--log-level", "debug", "--claim-workers", "64"});
  EXPECT_EQ(config.threads, 2U);
  EXPECT_EQ(config.claim_workers, 64U);
  EXPECT_EQ(run_config({"--sandbox", "/sb"}).claim_workers, DaemonConfig::kDefaultClaimWorkers);
  EXPECT_EQ(config.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.max_connections, 10U);
  EXPECT_EQ(config.log_level, "debug");
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--threads", "0"},
                                             {"--threads", "two"},
                                             {"--threads", "4x"},
                                             {"--idle-timeout", "-1"},
                                             {"--max-connections", ""},
                                             {"--log-level", "loud"},
                                             {"--claim-workers", "0"},
                                             {"--claim-workers", "2000"},
                                             {"--threads"}}) {
    auto args = bad;
    args.insert(args.begin(), {"--sandbox", "/sb"});
    const auto parsed = parse(args);
    ASSERT_FALSE(parsed.ok()) << bad[0];
    EXPECT_EQ(parsed.error().code, "usage") << bad[0];
  }
}

TEST_F(DaemonConfigTest, UnknownFlagsAndArgumentsAreUsageErrors) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--sandbox", "/sb", "--frobnicate"},
                                             {"--sandbox", "/sb", "stray"},
                                             {"-x"},
                                             {"--socket_dir", "/s"}}) {
    const auto parsed = parse(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, "usage");
    EXPECT_NE(parsed.error().message.find("see --help"), std::string::npos) << parsed.error().message;
  }
}

TEST_F(DaemonConfigTest, HelpAndVersionNeedNothingElse) {
  EXPECT_EQ(parse({"--help"})->action, Action::kHelp);
  EXPECT_EQ(parse({"--version"})->action, Action::kVersion);
  EXPECT_NE(usage_text().find("--sandbox DIR"), std::string::npos);
}

TEST_F(DaemonConfigTest, TheConfigFileSetsValuesAndFlagsOverrideIt) {
  write(dir_ / "config.toml",
        "socket_dir = \"/cfg/run\"\nstate_dir = \"/cfg/state\"\nbootstrap_key = \"/cfg/key\"\nthreads = 4\n"
        "idle_timeout_seconds = 30\nmax_connections = 100\nlog_level = \"warn\"\nclaim_workers = 8\n");
  const DaemonConfig config = run_config({"--config", (dir_ / "config.toml").string(), "--threads", "1"});
  EXPECT_EQ(config.claim_workers, 8U);
  EXPECT_EQ(config.socket_dir, "/cfg/run");
  EXPECT_EQ(config.state_dir, "/cfg/state");
  EXPECT_EQ(config.bootstrap_key, "/cfg/key");
  EXPECT_EQ(config.decryption_key_source, "config");
  EXPECT_EQ(config.audit_log, "/var/log/remo-broker/audit.log");
  EXPECT_EQ(config.threads, 1U);
  EXPECT_EQ(config.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config.max_connections, 100U);
  EXPECT_EQ(config.log_level, "warn");
  EXPECT_EQ(config.config_file, dir_ / "config.toml");
}

TEST_F(DaemonConfigTest, RateLimitsDefaultTo100PerSecondAndComeFromFileOrFlags) {
  const DaemonConfig defaults = run_config({"--sandbox", "/sb"});
  EXPECT_EQ(defaults.requests_per_second, 100);
  EXPECT_EQ(defaults.burst, 200);
  EXPECT_FALSE(defaults.allowed_signers.has_value());

  write(dir_ / "config.toml", "requests_per_second = 7\nburst = 9\nallowed_signers = \"/etc/signers\"\n");
  const DaemonConfig from_file =
      run_config({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string()});
  EXPECT_EQ(from_file.requests_per_second, 7);
  EXPECT_EQ(from_file.burst, 9);
  EXPECT_EQ(from_file.allowed_signers, fs::path("/etc/signers"));

  const DaemonConfig flags =
      run_config({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string(), "--requests-per-second",
                  "0", "--burst=3", "--allowed-signers", "/other/signers"});
  EXPECT_EQ(flags.requests_per_second, 0) << "0 disables the limit";
  EXPECT_EQ(flags.burst, 3);
  EXPECT_EQ(flags.allowed_signers, fs::path("/other/signers"));

  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--requests-per-second", "-1"},
                                             {"--requests-per-second", "1000001"},
                                             {"--requests-per-second", "1.5"},
                                             {"--burst", "0"},
                                             {"--allowed-signers", ""}}) {
    auto args = bad;
    args.insert(args.begin(), {"--sandbox", "/sb"});
    const auto parsed = parse(args);
    ASSERT_FALSE(parsed.ok()) << bad[0] << " " << bad[1];
    EXPECT_EQ(parsed.error().code, "usage");
    EXPECT_NE(parsed.error().message.find(bad[0]), std::string::npos);
  }
  for (const std::string_view text :
       {"burst = 0\n", "requests_per_second = \"fast\"\n", "allowed_signers = 3\n"}) {
    write(dir_ / "config.toml", text);
    const auto parsed = parse({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string()});
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, "config") << text;
  }
  EXPECT_NE(usage_text().find("--requests-per-second N"), std::string::npos);
  EXPECT_NE(usage_text().find("--allowed-signers FILE"), std::string::npos);
}

TEST_F(DaemonConfigTest, TheSystemConfigFileIsReadWhenPresentButNotInASandbox) {
  variables_["CREDENTIALS_DIRECTORY"] = "/creds";
  write(environment_.default_config_file, "socket_dir = \"/etc-said/run\"\n");
  EXPECT_EQ(run_config({}).socket_dir, "/etc-said/run");
  EXPECT_EQ(run_config({"--sandbox", "/sb"}).socket_dir, "/sb/run");
}

TEST_F(DaemonConfigTest, TheConfigFileIsStrict) {
  for (const std::string& text : {std::string("sockets_dir = \"/x\"\n"), std::string("threads = \"4\"\n"),
                                  std::string("threads = 0\n"), std::string("[daemon]\nthreads = 1\n"),
                                  std::string("log_level = \"loud\"\n"), std::string("socket_dir = \n")}) {
    write(dir_ / "config.toml", text);
    const auto parsed = parse({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string()});
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().message.find((dir_ / "config.toml").string()), std::string::npos) << text;
  }
  write(dir_ / "config.toml", "sockets_dir = \"/x\"\n");
  EXPECT_NE(parse({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string()})
                .error()
                .message.find("unknown key 'sockets_dir'"),
            std::string::npos);
}

// toml++ 3.3 reaches undefined behaviour on some non-ASCII bytes outside strings (toml_text_guard.hpp):
// the config file goes through the same guard as manifests and bundles.
TEST_F(DaemonConfigTest, NonAsciiOutsideStringsIsRefusedBeforeTheTomlParser) {
  write(dir_ / "config.toml", "threads = 4\u00a0\nlog_level = \"warn\" # caf\u00e9 is fine in a comment\n");
  const auto parsed = parse({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string()});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "config");
  EXPECT_NE(parsed.error().message.find("not accepted TOML (byte offset 11)"), std::string::npos)
      << parsed.error().message;
  write(dir_ / "config.toml", "log_level = \"warn\" # caf\u00e9 is fine in a comment\n");
  EXPECT_TRUE(parse({"--sandbox", "/sb", "--config", (dir_ / "config.toml").string()}).ok());
}

TEST_F(DaemonConfigTest, AnExplicitConfigFileMustExist) {
  const auto parsed = parse({"--sandbox", "/sb", "--config", (dir_ / "nope.toml").string()});
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, "config");
}

TEST_F(DaemonConfigTest, TheAdminSocketHasItsOwnDirectoryOutsideTheProjectSocketDirectory) {
  const fs::path sandbox = dir_ / "sb";
  EXPECT_EQ(run_config({"--sandbox", sandbox.string()}).admin_socket_dir, sandbox / "admin");
  variables_["CREDENTIALS_DIRECTORY"] = "/run/credentials/remo-broker.service";
  const DaemonConfig system = run_config({});
  EXPECT_EQ(system.admin_socket_dir, "/run/remo-broker-admin");
  EXPECT_EQ(run_config({"--admin-socket-dir", (dir_ / "a").string()}).admin_socket_dir, dir_ / "a");
}

TEST_F(DaemonConfigTest, AnAdminSocketDirectoryInsideTheProjectSocketDirectoryOrAroundItIsRefused) {
  const fs::path sandbox = dir_ / "sb";
  for (const fs::path& admin_dir : {sandbox / "run" / "admin", sandbox / "run", sandbox / "run/", sandbox}) {
    const auto parsed = parse({"--sandbox", sandbox.string(), "--admin-socket-dir", admin_dir.string()});
    ASSERT_FALSE(parsed.ok()) << admin_dir;
    EXPECT_EQ(parsed.error().code, "config");
    EXPECT_NE(parsed.error().message.find("must be separate directories"), std::string::npos);
  }
  // A symbolic link does not hide the nesting.
  fs::create_directories(dir_ / "sockets");
  fs::create_directory_symlink(dir_ / "sockets", dir_ / "alias");
  EXPECT_FALSE(parse({"--sandbox", sandbox.string(), "--socket-dir", (dir_ / "sockets").string(),
                      "--admin-socket-dir", (dir_ / "alias" / "admin").string()})
                   .ok());
  // Siblings with a common prefix are separate.
  EXPECT_TRUE(parse({"--sandbox", sandbox.string(), "--socket-dir", (dir_ / "run").string(),
                     "--admin-socket-dir", (dir_ / "run-admin").string()})
                  .ok());
}

TEST_F(DaemonConfigTest, TheLineBufferBudgetIsInMibFromFileOrFlag) {
  const fs::path sandbox = dir_ / "sb";
  EXPECT_EQ(run_config({"--sandbox", sandbox.string()}).line_buffer_budget, 16U * 1024 * 1024);
  EXPECT_EQ(run_config({"--sandbox", sandbox.string(), "--line-buffer-budget", "4"}).line_buffer_budget,
            4U * 1024 * 1024);
  write(dir_ / "c.toml", "line_buffer_budget_mib = 32\n");
  EXPECT_EQ(
      run_config({"--sandbox", sandbox.string(), "--config", (dir_ / "c.toml").string()}).line_buffer_budget,
      32U * 1024 * 1024);
  for (const std::string bad : {"1", "0", "-3", "lots"}) {
    const auto parsed = parse({"--sandbox", sandbox.string(), "--line-buffer-budget", bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, "usage");
  }
}

}  // namespace
}  // namespace remo::daemon
