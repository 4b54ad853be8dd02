#include "protocol/request.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "protocol/codes.hpp"
#include "protocol/utf8.hpp"

namespace remo::protocol {
namespace {

constexpr std::size_t kMaxQuotableLength = 64;
constexpr std::size_t kMaxIdListLength = 1024;

std::string quoted_field(std::string_view key) { return "field '" + std::string(key) + "'"; }

bool is_valid_id(const Json& id) {
  if (id.is_number_integer()) return true;  // signed or unsigned; floats and booleans are not ids
  return id.is_string() && id.get_ref<const std::string&>().size() <= kMaxIdLength;
}

Result<std::uint32_t> id_value(const Json& value, const std::string& where) {
  // The parser stores every non-negative integer as unsigned: a signed one is negative.
  if (!value.is_number_unsigned()) return protocol_error(where + " must be a non-negative integer");
  const auto id = value.get<std::uint64_t>();
  if (id >= std::numeric_limits<std::uint32_t>::max()) return protocol_error(where + " is out of range");
  return static_cast<std::uint32_t>(id);
}

}  // namespace

Error protocol_error(std::string message) {
  return Error{std::string(code::kProtocolError), std::move(message)};
}

bool is_quotable(std::string_view client_text) noexcept {
  if (client_text.empty() || client_text.size() > kMaxQuotableLength) return false;
  return std::all_of(client_text.begin(), client_text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

void wipe_string_field(Request& request, std::string_view key) noexcept {
  if (!request.body.is_object()) return;
  const auto field = request.body.find(key);
  if (field == request.body.end() || !field->is_string()) return;
  auto& text = field->get_ref<std::string&>();
  sodium_memzero(text.data(), text.size());
}

void wipe_strings(Json& value) noexcept {
  if (value.is_string()) {
    auto& text = value.get_ref<std::string&>();
    sodium_memzero(text.data(), text.size());
  } else if (value.is_structured()) {
    for (Json& element : value) wipe_strings(element);
  }
}

Result<void> parse_request(std::string_view line, Request& request) {
  request = Request{};
  if (std::memchr(line.data(), '\0', line.size()) != nullptr) {
    return protocol_error("request contains a NUL byte");
  }
  if (!is_valid_utf8(line)) return protocol_error("request is not valid UTF-8");

  Json body = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return protocol_error("request is not valid JSON");
  // A refused request's strings (a token or a key sent beside a bad id) are wiped before its tree is freed;
  // an accepted one's body has moved into request by then, and its owner wipes what is secret.
  struct WipeOnExit {
    Json& body;
    ~WipeOnExit() { wipe_strings(body); }
  } const wipe_on_exit{body};
  if (!body.is_object()) return protocol_error("request must be a JSON object");

  if (const auto id = body.find("id"); id != body.end()) {
    if (!is_valid_id(*id)) {
      return protocol_error("field 'id' must be an integer or a string of at most " +
                            std::to_string(kMaxIdLength) + " bytes");
    }
    request.id = *id;
  }
  const auto op = body.find("op");
  if (op == body.end()) return protocol_error("missing field 'op'");
  if (!op->is_string()) return protocol_error("field 'op' must be a string");
  request.op = op->get<std::string>();
  request.body = std::move(body);
  return {};
}

Result<std::string_view> string_field(const Request& request, std::string_view key) {
  const auto field = request.body.find(key);
  if (field == request.body.end()) return protocol_error("missing " + quoted_field(key));
  if (!field->is_string()) return protocol_error(quoted_field(key) + " must be a string");
  const std::string& text = field->get_ref<const std::string&>();
  if (text.find('\0') != std::string::npos) return protocol_error(quoted_field(key) + " contains a NUL");
  return std::string_view(text);
}

Result<std::optional<std::uint32_t>> optional_id_field(const Request& request, std::string_view key) {
  const auto field = request.body.find(key);
  if (field == request.body.end()) return std::optional<std::uint32_t>{};
  auto id = id_value(*field, quoted_field(key));
  if (!id) return std::move(id).error();
  return std::optional<std::uint32_t>(*id);
}

Result<std::optional<std::vector<std::uint32_t>>> optional_id_list_field(const Request& request,
                                                                         std::string_view key) {
  const auto field = request.body.find(key);
  if (field == request.body.end()) return std::optional<std::vector<std::uint32_t>>{};
  if (!field->is_array()) return protocol_error(quoted_field(key) + " must be an array of integers");
  if (field->size() > kMaxIdListLength) {
    return protocol_error(quoted_field(key) + " has more than " + std::to_string(kMaxIdListLength) +
                          " entries");
  }
  std::vector<std::uint32_t> ids;
  ids.reserve(field->size());
  for (const Json& entry : *field) {
    auto id = id_value(entry, "every entry of " + quoted_field(key));
    if (!id) return std::move(id).error();
    ids.push_back(*id);
  }
  return std::optional<std::vector<std::uint32_t>>(std::move(ids));
}

}  // namespace remo::protocol
