#include "broker/crypto/armor.hpp"

#include <algorithm>

#include "broker/crypto/base64.hpp"

namespace remo::crypto::armor {
namespace {

constexpr std::size_t kBytesPerLine = kColumnsPerLine / 4 * 3;

bool is_outer_whitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};  // NOLINT: byte view
}

Error armor_error(std::string message) { return make_error("armor", std::move(message)); }

// Splits text into lines ending in LF or CRLF; the last line may lack an end of line.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    std::size_t lf = text_.find('\n', pos_);
    if (lf == std::string_view::npos) lf = text_.size();
    line = text_.substr(pos_, lf - pos_);
    if (line.ends_with('\r')) line.remove_suffix(1);
    pos_ = lf + 1;
    return true;
  }
  bool at_end() const noexcept { return pos_ >= text_.size(); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool looks_armored(std::span<const std::uint8_t> input) noexcept {
  std::string_view text = as_text(input);
  while (!text.empty() && is_outer_whitespace(text.front())) text.remove_prefix(1);
  return text.starts_with("-----");
}

std::vector<std::uint8_t> encode(std::span<const std::uint8_t> binary) {
  std::string out(kBeginLine);
  out += '\n';
  for (std::size_t pos = 0; pos < binary.size(); pos += kBytesPerLine) {
    out += base64::encode(binary.subspan(pos, std::min(kBytesPerLine, binary.size() - pos)),
                          base64::Padding::kRequired);
    out += '\n';
  }
  out += kEndLine;
  out += '\n';
  return {out.begin(), out.end()};
}

Result<std::vector<std::uint8_t>> decode(std::span<const std::uint8_t> armored) {
  std::string_view text = as_text(armored);
  while (!text.empty() && is_outer_whitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_outer_whitespace(text.back())) text.remove_suffix(1);

  Lines lines(text);
  std::string_view line;
  if (!lines.next(line) || line != kBeginLine) return armor_error("missing or malformed BEGIN line");

  std::vector<std::uint8_t> binary;
  binary.reserve(text.size() / 4 * 3);
  bool short_line_seen = false;
  while (true) {
    if (!lines.next(line)) return armor_error("missing END line");
    if (line == kEndLine) break;
    if (short_line_seen) return armor_error("a line shorter than 64 columns is not the last one");
    if (line.empty()) return armor_error("empty line inside the armor");
    if (line.size() > kColumnsPerLine) return armor_error("line longer than 64 columns");
    if (line.size() < kColumnsPerLine) short_line_seen = true;
    if (!base64::decode_append(line, base64::Padding::kRequired, binary)) {
      return armor_error("line is not canonical padded base64");
    }
    // Padding ends the data: a full line that carries it must be the last.
    if (line.back() == '=') short_line_seen = true;
  }
  if (!lines.at_end()) return armor_error("data after the END line");
  if (binary.empty()) return armor_error("empty armor");
  return binary;
}

}  // namespace remo::crypto::armor
