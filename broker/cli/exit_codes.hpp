// The exit statuses of remo-brokerctl, one per failure a script may want to tell apart. The same table is
// in README ("Exit codes") and in `remo-brokerctl --help`. A status from a broker error code is stable:
// scripts may test `$? -eq 11` for not_found. `remo-brokerctl push` passes the instance-side command's
// status through, so "broker not running" means the same thing on the laptop and on the instance.
#pragma once

#include <string_view>

#include "protocol/codes.hpp"

namespace remo::cli::exit_code {

inline constexpr int kOk = 0;
inline constexpr int kFailure = 1;              // anything not listed below (a local file unreadable, ...)
inline constexpr int kUsage = 2;                // bad command line
inline constexpr int kBrokerNotRunning = 3;     // the socket does not exist or nobody listens on it
inline constexpr int kSocketPermission = 4;     // the socket exists but this user may not open it
inline constexpr int kMalformedReply = 5;       // the broker's reply is not a JSON object, or never came
inline constexpr int kSshUnreachable = 6;       // ssh could not connect or authenticate
inline constexpr int kHostKeyProblem = 7;       // ssh refused the instance's host key
inline constexpr int kRecipientChanged = 8;     // the instance's recipient differs from the pinned one
inline constexpr int kRemoteCommandFailed = 9;  // the instance-side remo-brokerctl is missing or failed
inline constexpr int kUnknownBrokerCode = 25;   // a failure code this CLI does not know

struct BrokerCodeStatus {
  std::string_view code;
  int status;
};

// Broker error codes (protocol/codes.hpp) and their statuses: 10 and up, in the protocol's order.
inline constexpr BrokerCodeStatus kBrokerCodes[] = {
    {protocol::code::kDenied, 10},           {protocol::code::kNotFound, 11},
    {protocol::code::kRateLimited, 12},      {protocol::code::kLocked, 13},
    {protocol::code::kProtocolError, 14},    {protocol::code::kPeerUnexpected, 15},
    {protocol::code::kInternalError, 16},    {protocol::code::kDecryptFailed, 17},
    {protocol::code::kInvalidPayload, 18},   {protocol::code::kManifestInvalid, 19},
    {protocol::code::kManifestNotFound, 20}, {protocol::code::kProjectUnknown, 21},
    {protocol::code::kProjectExists, 22},    {protocol::code::kBootstrapError, 23},
    {protocol::code::kSignatureInvalid, 24},
};

inline int for_broker_code(std::string_view code) {
  for (const auto& entry : kBrokerCodes) {
    if (entry.code == code) return entry.status;
  }
  return kUnknownBrokerCode;
}

// True for a status another remo-brokerctl may have returned on purpose (push passes those through).
inline bool is_known(int status) {
  if (status >= kOk && status <= kRemoteCommandFailed) return true;
  return status >= 10 && status <= kUnknownBrokerCode;
}

inline constexpr std::string_view kHelpTable =
    "exit status:\n"
    "   0 ok                         1 other failure            2 usage\n"
    "   3 broker not running         4 socket permission denied 5 malformed or missing reply\n"
    "   6 ssh unreachable/auth       7 ssh host key problem     8 instance recipient changed\n"
    "   9 remote command failed\n"
    "  10 denied  11 not_found  12 rate_limited  13 locked  14 protocol_error  15 peer_unexpected\n"
    "  16 internal_error  17 decrypt_failed  18 invalid_payload  19 manifest_invalid\n"
    "  20 manifest_not_found  21 project_unknown  22 project_exists  23 bootstrap_error\n"
    "  24 signature_invalid  25 another broker error code\n";

}  // namespace remo::cli::exit_code
