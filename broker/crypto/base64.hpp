// Strict base64 (standard alphabet) as age uses it: the header's stanza bodies and MAC are unpadded,
// the ASCII armor is padded. Decoding is canonical-only: every encoding has exactly one accepted form,
// so a file cannot be re-encoded into a different but still valid one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace remo::crypto::base64 {

enum class Padding { kNone, kRequired };

std::string encode(std::span<const std::uint8_t> bytes, Padding padding);

// Appends the decoded bytes to out and returns true, or returns false (out unchanged) when text is not
// the canonical encoding of anything: wrong length, characters outside the alphabet, missing or extra
// padding, or non-zero trailing bits.
bool decode_append(std::string_view text, Padding padding, std::vector<std::uint8_t>& out);

std::optional<std::vector<std::uint8_t>> decode(std::string_view text, Padding padding);

// Number of characters in the encoding of n bytes.
std::size_t encoded_size(std::size_t n, Padding padding) noexcept;

}  // namespace remo::crypto::base64
