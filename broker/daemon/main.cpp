// remo-broker: the credential broker daemon. See daemon.hpp for its life and config.hpp for its options.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/crypto/secure_buffer.hpp"
#include "broker/daemon/config.hpp"
#include "broker/daemon/daemon.hpp"
#include "broker/daemon/hardening.hpp"
#include "broker/daemon/logging.hpp"
#include "protocol/codes.hpp"

int main(int argc, char** argv) {
  using namespace remo::daemon;
  // Before anything is read or created: no core dumps, not dumpable, umask 077.
  const HardeningReport hardening = harden_process();

  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto command = parse_command_line(args, Environment::of_process());
  if (!command) {
    std::fprintf(stderr, "remo-broker: %s\n", command.error().message.c_str());
    return command.error().code == "usage" ? 2 : 1;
  }
  if (command->action == Action::kHelp) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  if (command->action == Action::kVersion) {
    std::printf("remo-broker %s (protocol_version %d)\n", REMO_BROKER_VERSION,
                remo::protocol::kProtocolVersion);
    return 0;
  }

  setup_logging(command->config.log_level);
  for (const std::string& warning : hardening.warnings) spdlog::warn("hardening: {}", warning);
  remo::crypto::ensure_sodium();
  return run_daemon(command->config);
}
