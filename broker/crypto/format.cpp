#include "broker/crypto/format.hpp"

#include <algorithm>

#include "broker/crypto/base64.hpp"

namespace remo::crypto::format {
namespace {

constexpr std::string_view kStanzaPrefix = "-> ";
constexpr std::string_view kMacPrefix = "--- ";
constexpr std::string_view kMacMarker = "---";
constexpr std::size_t kBytesPerLine = kColumnsPerLine / 4 * 3;

Error header_error(std::string message) { return make_error("header", std::move(message)); }

// Walks the file one LF-terminated line at a time.
class LineReader {
 public:
  explicit LineReader(std::span<const std::uint8_t> file)
      : text_(reinterpret_cast<const char*>(file.data()), file.size()) {}  // NOLINT: byte view

  // The next line without its LF, or false when no complete line is left.
  bool next(std::string_view& line) {
    const std::size_t lf = text_.find('\n', pos_);
    if (lf == std::string_view::npos) return false;
    line = text_.substr(pos_, lf - pos_);
    pos_ = lf + 1;
    return true;
  }
  std::size_t position() const noexcept { return pos_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool is_vchar(char c) { return c >= 0x21 && c <= 0x7e; }

// Splits "a b c" on single spaces; every argument must be non-empty printable ASCII.
bool split_args(std::string_view text, std::vector<std::string>& out) {
  std::size_t start = 0;
  while (true) {
    const std::size_t space = text.find(' ', start);
    const std::string_view arg = text.substr(start, space == std::string_view::npos ? space : space - start);
    if (arg.empty()) return false;
    for (char c : arg) {
      if (!is_vchar(c)) return false;
    }
    out.emplace_back(arg);
    if (space == std::string_view::npos) return true;
    start = space + 1;
  }
}

Result<Stanza> parse_stanza(std::string_view first_line, LineReader& lines) {
  std::vector<std::string> args;
  if (!split_args(first_line.substr(kStanzaPrefix.size()), args)) {
    return header_error("malformed stanza arguments");
  }
  Stanza stanza;
  stanza.type = std::move(args.front());
  stanza.args.assign(std::make_move_iterator(args.begin() + 1), std::make_move_iterator(args.end()));

  // The body ends at its first line shorter than a full one, which is why a body whose length is a
  // multiple of 48 bytes needs a final empty line.
  std::string_view line;
  while (true) {
    if (!lines.next(line)) return header_error("stanza body is truncated");
    if (line.size() > kColumnsPerLine) return header_error("stanza body line is too long");
    if (!base64::decode_append(line, base64::Padding::kNone, stanza.body)) {
      return header_error("stanza body is not canonical unpadded base64");
    }
    if (line.size() < kColumnsPerLine) break;
  }
  return stanza;
}

}  // namespace

Result<ParsedHeader> parse_header(std::span<const std::uint8_t> file) {
  LineReader lines(file);
  std::string_view line;
  if (!lines.next(line)) return header_error("missing version line");
  if (line != kVersionLine) return header_error("unsupported version or malformed version line");

  ParsedHeader parsed;
  while (true) {
    const std::size_t line_start = lines.position();
    if (!lines.next(line)) return header_error("header is truncated before the MAC line");
    if (line.starts_with(kStanzaPrefix)) {
      auto stanza = parse_stanza(line, lines);
      if (!stanza) return std::move(stanza).error();
      parsed.header.stanzas.push_back(std::move(stanza).value());
      continue;
    }
    if (line.starts_with(kMacPrefix)) {
      const auto mac = base64::decode(line.substr(kMacPrefix.size()), base64::Padding::kNone);
      if (!mac || mac->size() != kMacSize) return header_error("malformed MAC line");
      std::copy(mac->begin(), mac->end(), parsed.header.mac.begin());
      parsed.mac_input_size = line_start + kMacMarker.size();
      parsed.size = lines.position();
      break;
    }
    return header_error("unexpected line in header");
  }
  if (parsed.header.stanzas.empty()) return header_error("no recipient stanzas");
  return parsed;
}

std::string serialize_mac_input(std::span<const Stanza> stanzas) {
  std::string out(kVersionLine);
  out += '\n';
  for (const Stanza& stanza : stanzas) {
    out += kStanzaPrefix;
    out += stanza.type;
    for (const std::string& arg : stanza.args) {
      out += ' ';
      out += arg;
    }
    out += '\n';
    // Full lines of 48 bytes, then a final line with the rest (empty when nothing is left).
    std::span<const std::uint8_t> rest(stanza.body);
    while (true) {
      const std::size_t n = std::min(rest.size(), kBytesPerLine);
      out += base64::encode(rest.first(n), base64::Padding::kNone);
      out += '\n';
      rest = rest.subspan(n);
      if (n < kBytesPerLine) break;
    }
  }
  out += kMacMarker;
  return out;
}

std::string serialize_header(const Header& header) {
  std::string out = serialize_mac_input(header.stanzas);
  out += ' ';
  out += base64::encode(header.mac, base64::Padding::kNone);
  out += '\n';
  return out;
}

}  // namespace remo::crypto::format
