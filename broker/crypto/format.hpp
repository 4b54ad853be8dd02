// The age v1 header: version line, recipient stanzas, MAC line.
//
//   age-encryption.org/v1
//   -> X25519 <base64 share>
//   <base64 body, wrapped at 64 columns, last line shorter (possibly empty)>
//   --- <base64 MAC>
//
// Parsing is strict: LF line endings only, arguments of printable ASCII separated by single spaces,
// canonical unpadded base64, and the MAC line exactly "--- " plus a 32-byte MAC.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::crypto::format {

inline constexpr std::string_view kVersionLine = "age-encryption.org/v1";
inline constexpr std::size_t kMacSize = 32;
// Stanza bodies are wrapped so that every line but the last holds exactly this many characters.
inline constexpr std::size_t kColumnsPerLine = 64;

struct Stanza {
  std::string type;
  std::vector<std::string> args;
  std::vector<std::uint8_t> body;

  friend bool operator==(const Stanza&, const Stanza&) = default;
};

struct Header {
  std::vector<Stanza> stanzas;
  std::array<std::uint8_t, kMacSize> mac{};
};

struct ParsedHeader {
  Header header;
  std::size_t mac_input_size = 0;  // bytes the MAC covers: from the start up to and including "---"
  std::size_t size = 0;            // bytes of the whole header, up to and including the MAC line's LF
};

// Parses the header at the start of file. Errors have code "header" and name what is wrong.
Result<ParsedHeader> parse_header(std::span<const std::uint8_t> file);

// The bytes the MAC covers: version line, stanzas, and "---" (no trailing space).
std::string serialize_mac_input(std::span<const Stanza> stanzas);

// The complete header: serialize_mac_input(stanzas) + " " + base64(mac) + "\n".
std::string serialize_header(const Header& header);

}  // namespace remo::crypto::format
