#include "broker/core/secret_set.hpp"

#include <sodium.h>

#include <toml++/toml.h>

#include <cstring>
#include <string>
#include <utility>

#include "broker/core/toml_text_guard.hpp"
#include "protocol/codes.hpp"

namespace remo::core {
namespace {

constexpr std::size_t kMaxSecretNameLength = 128;
constexpr std::string_view kBase64Key = "value_b64";

Error invalid_payload(std::string message) {
  return Error{std::string(protocol::code::kInvalidPayload), std::move(message)};
}

std::string position_of(const toml::source_position& where) {
  return "line " + std::to_string(where.line) + ", column " + std::to_string(where.column);
}

std::string describe_secret(std::string_view name, const toml::node& node) {
  return "secret \"" + std::string(name) + "\" (" + position_of(node.source().begin) + ")";
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// The parser copied every value out of the plaintext into its own nodes; wipe them in place before
// the tree is freed, including the spare capacity of each string (an earlier, longer value may have
// lived there).
void wipe_values(toml::node& node) noexcept {
  if (auto* table = node.as_table()) {
    for (auto&& [key, child] : *table) wipe_values(child);
  } else if (auto* array = node.as_array()) {
    for (auto& child : *array) wipe_values(child);
  } else if (auto* text = node.as_string()) {
    std::string& storage = text->get();
    storage.resize(storage.capacity());  // within capacity: no allocation, exposes the whole buffer
    sodium_memzero(storage.data(), storage.size());
  } else if (auto* integer = node.as_integer()) {
    sodium_memzero(&integer->get(), sizeof(integer->get()));
  } else if (auto* floating = node.as_floating_point()) {
    sodium_memzero(&floating->get(), sizeof(floating->get()));
  } else if (auto* boolean = node.as_boolean()) {
    sodium_memzero(&boolean->get(), sizeof(boolean->get()));
  } else if (auto* date = node.as_date()) {
    sodium_memzero(&date->get(), sizeof(date->get()));
  } else if (auto* time = node.as_time()) {
    sodium_memzero(&time->get(), sizeof(time->get()));
  } else if (auto* date_time = node.as_date_time()) {
    sodium_memzero(&date_time->get(), sizeof(date_time->get()));
  }
}

class WipeOnExit {
 public:
  explicit WipeOnExit(toml::table& tree) noexcept : tree_(tree) {}
  ~WipeOnExit() { wipe_values(tree_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  toml::table& tree_;
};

// A value as the bundle gives it: text to copy, or base64 to decode.
struct PendingValue {
  std::string_view name;
  std::string_view text;  // the string, or the value_b64 text
  bool from_base64 = false;
};

// Room a value needs in the set's storage (base64 decodes to at most 3 bytes per 4 characters).
std::size_t room_for(const PendingValue& value) {
  return value.from_base64 ? value.text.size() / 4 * 3 : value.text.size();
}

Result<PendingValue> check_base64_secret(std::string_view name, const toml::table& table) {
  const auto* encoded = table.get(kBase64Key);
  if (table.size() != 1 || encoded == nullptr) {
    return invalid_payload(describe_secret(name, table) +
                           ": an inline table must hold exactly one key, value_b64");
  }
  if (!encoded->is_string()) {
    return invalid_payload(describe_secret(name, table) + ": value_b64 must be a string, not " +
                           std::string(type_name(*encoded)));
  }
  return PendingValue{name, encoded->as_string()->get(), true};
}

Result<PendingValue> check_secret(std::string_view name, const toml::node& node) {
  if (const auto* text = node.as_string()) return PendingValue{name, text->get(), false};
  if (const auto* table = node.as_table()) {
    if (!table->is_inline()) {
      return invalid_payload(describe_secret(name, node) +
                             ": tables are not allowed; write NAME = { value_b64 = \"...\" } for bytes");
    }
    return check_base64_secret(name, *table);
  }
  return invalid_payload(describe_secret(name, node) +
                         ": value must be a string or { value_b64 = \"...\" }, not " +
                         std::string(type_name(node)));
}

// Canonical standard base64 (RFC 4648 section 4, padded). libsodium rejects whitespace (no ignore set),
// missing or extra padding, trailing data and non-zero padding bits, so every byte string has exactly
// one accepted spelling. Decodes into out (room_for bytes); returns the decoded size.
Result<std::size_t> decode_base64_secret(const PendingValue& value, const toml::node& node,
                                         std::span<std::uint8_t> out) {
  std::size_t decoded_size = 0;
  if (sodium_base642bin(out.data(), out.size(), value.text.data(), value.text.size(), nullptr, &decoded_size,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    sodium_memzero(out.data(), out.size());
    return invalid_payload(describe_secret(value.name, node) +
                           ": value_b64 is not canonical standard base64 (RFC 4648, padded)");
  }
  return decoded_size;
}

}  // namespace

bool is_valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSecretNameLength) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<SecretSet> SecretSet::parse_bundle(std::string_view toml_plaintext) {
  if (const auto unsafe = find_unsafe_toml_text(toml_plaintext)) {
    return invalid_payload("bundle is not accepted TOML (byte offset " + std::to_string(unsafe->offset) +
                           "): " + std::string(unsafe->why));
  }
  toml::table tree;
  try {
    tree = toml::parse(toml_plaintext);
  } catch (const toml::parse_error& error) {
    // toml++ descriptions quote the offending source text, which may be part of a secret: report the
    // position only.
    return invalid_payload("bundle is not valid TOML (" + position_of(error.source().begin) + ")");
  }
  const WipeOnExit wipe(tree);

  // First every name and shape, to size the storage; then one secure allocation for all the values.
  std::vector<std::pair<PendingValue, const toml::node*>> pending;
  pending.reserve(tree.size());
  std::size_t room = 0;
  for (auto&& [key, node] : tree) {
    if (!is_valid_secret_name(key.str())) {
      // The name is not echoed: a malformed name may be a value pasted into the wrong place.
      return invalid_payload("bundle " + position_of(key.source().begin) +
                             ": secret name is not valid (expected ^[A-Za-z0-9_]{1,128}$)");
    }
    auto value = check_secret(key.str(), node);
    if (!value) return std::move(value).error();
    room += room_for(*value);
    pending.emplace_back(*value, &node);
  }

  SecretSet set;
  set.storage_ = crypto::SecureBuffer(room);
  std::size_t offset = 0;
  for (const auto& [value, node] : pending) {
    const std::span<std::uint8_t> slot = set.storage_.span().subspan(offset, room_for(value));
    std::size_t size = value.text.size();
    if (value.from_base64) {
      auto decoded = decode_base64_secret(value, *node, slot);
      if (!decoded) return std::move(decoded).error();
      size = *decoded;
    } else if (size > 0) {
      std::memcpy(slot.data(), value.text.data(), size);
    }
    set.values_.emplace(std::string(value.name),
                        SecretEntry{SecretBytes(slot.data(), size), value.from_base64});
    offset += slot.size();
  }
  return set;
}

bool SecretBytes::equals(std::span<const std::uint8_t> other) const noexcept {
  return other.size() == size_ && (size_ == 0 || sodium_memcmp(data_, other.data(), size_) == 0);
}

const SecretEntry* SecretSet::find(std::string_view name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

std::vector<std::string> SecretSet::names() const {
  std::vector<std::string> out;
  out.reserve(values_.size());
  for (const auto& [name, value] : values_) out.push_back(name);
  return out;
}

}  // namespace remo::core
