// The ASCII armor of age files: a strict subset of PEM (RFC 7468).
//
//   -----BEGIN AGE ENCRYPTED FILE-----
//   <padded base64, exactly 64 columns per line, the last line 1..64 columns>
//   -----END AGE ENCRYPTED FILE-----
//
// Decoding accepts LF or CRLF line endings and whitespace (space, tab, CR, LF) before the BEGIN line
// and after the END line; nothing else: no PEM headers, no blank or indented lines, no trailing
// spaces, no checksum line, and only the canonical base64 encoding.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "broker/common/result.hpp"

namespace remo::crypto::armor {

inline constexpr std::string_view kBeginLine = "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kEndLine = "-----END AGE ENCRYPTED FILE-----";
inline constexpr std::size_t kColumnsPerLine = 64;

// True when the input is meant as armor rather than a binary file: after optional leading whitespace
// it starts with the "-----" of a PEM boundary (a binary file starts with "age-encryption.org/").
bool looks_armored(std::span<const std::uint8_t> input) noexcept;

// Armors a binary age file. The output ends with a newline.
std::vector<std::uint8_t> encode(std::span<const std::uint8_t> binary);

// Removes the armor; errors have code "armor".
Result<std::vector<std::uint8_t>> decode(std::span<const std::uint8_t> armored);

}  // namespace remo::crypto::armor
