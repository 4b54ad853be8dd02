// Fuzz target: the request envelope parser and every op's typed request parser, without a broker behind
// them (request_dispatch fuzzes the whole dispatch; this one runs at parser speed).
// Invariants: every refusal is protocol_error with a message that never quotes a field value (the input's
// string values are probed for), the id is kept only when valid, and an accepted request holds what its
// type promises (names valid, ranges kept, the envelope's op is the type's).
#include <string>

#include "broker/core/claim_ledger.hpp"
#include "broker/core/manifest.hpp"
#include "broker/core/secret_set.hpp"
#include "protocol/codes.hpp"
#include "protocol/requests.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace remo::fuzz {
namespace {

using protocol::Request;

// No value of the request's string fields may appear in an error message: the value may be a secret. A
// value can match the fixed words of a message by chance ("must be a string"), so only values holding a
// character that no message template contains (# % & ~ | @) are looked for: such a value in a message
// can only have been quoted.
void require_no_value_quoted(const Request& request, const Error& error) {
  fuzz_require(error.code == protocol::code::kProtocolError, "request errors are protocol_error");
  if (!request.body.is_object()) return;
  for (const auto& [key, value] : request.body.items()) {
    if (!value.is_string() || key == protocol::field::kOp) continue;
    const std::string& text = value.get_ref<const std::string&>();
    if (text.find_first_of("#%&~|@") == std::string::npos) continue;
    fuzz_require(error.message.find(text) == std::string::npos, "an error message never quotes a value");
  }
}

template <class Typed>
void check_accepted(const Typed& /*typed*/) {}

void check_accepted(const protocol::GetRequest& typed) {
  fuzz_require(core::is_valid_secret_name(typed.name), "get names a valid secret");
}
void check_accepted(const protocol::RegisterRequest& typed) {
  fuzz_require(core::is_valid_project_name(typed.name), "register names a valid project");
  fuzz_require(typed.project_path.is_absolute(), "project_path is absolute");
  fuzz_require(!typed.uids || !typed.uids->empty(), "uids is never an empty list");
}
void check_accepted(const protocol::ClaimCreateRequest& typed) {
  fuzz_require(core::is_valid_project_name(typed.project), "claim-create names a valid project");
  fuzz_require(typed.ttl_seconds >= core::ClaimLedger::kMinTtlSeconds &&
                   typed.ttl_seconds <= core::ClaimLedger::kMaxTtlSeconds,
               "ttl in range");
  fuzz_require(!typed.value.empty() && typed.value.size() <= core::ClaimLedger::kMaxValueBytes,
               "one-shot value size in range");
}
void check_accepted(const protocol::SecretDigestsRequest& typed) {
  fuzz_require(typed.key.size() == protocol::SecretDigestsRequest::kKeySize, "digest key size");
}
void check_accepted(const protocol::LockRequest& typed) {
  fuzz_require(typed.reason.size() <= protocol::kMaxLockReasonLength, "lock reason length");
}
void check_accepted(const protocol::RotateBootstrapRequest& typed) {
  fuzz_require(typed.confirm == typed.recipient.has_value(), "confirm comes with its recipient only");
  fuzz_require(!(typed.confirm && typed.identity), "no identity with confirm");
}

template <class Typed>
bool try_op(const Request& request) {
  if (request.op != Typed::kOp) return false;
  auto typed = Typed::parse(request);
  if (typed) {
    check_accepted(*typed);
  } else {
    require_no_value_quoted(request, typed.error());
  }
  return true;
}

template <class... Typed>
bool dispatch(const Request& request) {
  return (try_op<Typed>(request) || ...);
}

}  // namespace

void request_parse(Input input) {
  Request request;
  const auto parsed = protocol::parse_request(as_text(input), request);
  if (!parsed) {
    require_no_value_quoted(request, parsed.error());
    fuzz_require(request.id.is_null() || request.id.is_number_integer() || request.id.is_string(),
                 "a kept id is an integer or a string");
    return;
  }
  dispatch<protocol::PingRequest, protocol::InfoRequest, protocol::GetRequest, protocol::ClaimRequest,
           protocol::DeleteRequest, protocol::StatusRequest, protocol::GetPublicKeyRequest,
           protocol::PushCredsRequest, protocol::SecretDigestsRequest, protocol::ClearCredsRequest,
           protocol::RegisterRequest, protocol::UnregisterRequest, protocol::ReloadRequest,
           protocol::RotateBootstrapRequest, protocol::ClaimCreateRequest, protocol::ClaimListRequest,
           protocol::ClaimRevokeRequest, protocol::LockRequest, protocol::UnlockRequest>(request);
}

}  // namespace remo::fuzz
