#include "broker/core/toml_text_guard.hpp"

#include <vector>

namespace remo::core {
namespace {

constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";
constexpr std::string_view kOutsideString = "non-ASCII byte outside a string or comment";
constexpr std::string_view kControlCharacter =
    "control character (only tab, line feed and CR LF are allowed)";
constexpr std::string_view kAfterBackslash = "non-ASCII byte after a backslash in a multi-line string";

bool is_ascii(char c) noexcept { return static_cast<unsigned char>(c) < 0x80; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// The whitespace a line-ending backslash trims: spaces, tabs and line breaks.
bool is_trimmed_whitespace(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Where toml++ stops scanning a bare value (a number, date, boolean, inf/nan): its "value terminators".
bool ends_bare_value(char c) noexcept {
  return is_trimmed_whitespace(c) || c == ']' || c == '}' || c == ',' || c == '#';
}

// Walks the text as the TOML lexer would, knowing where comments, strings and bare values begin and end,
// and whether a key or a value comes next (which decides what a quote means: it opens a string where a
// key or a value starts, but toml++ scans a bare value on past quotes until a value terminator).
class Scanner {
 public:
  explicit Scanner(std::string_view text) noexcept : text_(text) {}

  std::optional<UnsafeTomlText> run() {
    if (auto control = find_control_character()) return control;
    if (text_.starts_with(kUtf8ByteOrderMark)) at_ = kUtf8ByteOrderMark.size();
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (!is_ascii(c)) return UnsafeTomlText{at_, kOutsideString};
      if (c == '#') {
        skip_comment();
      } else if (c == '"' || c == '\'') {
        if (auto problem = skip_string(c)) return problem;
        if (expect_value_) expect_value_ = false;
      } else if (is_structural(c)) {
        take_structural(c);
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++at_;
      } else if (expect_value_) {
        if (auto problem = skip_bare_value()) return problem;
        expect_value_ = false;
      } else {
        ++at_;  // part of a bare key (toml++ reports anything else there itself)
      }
    }
    return std::nullopt;
  }

 private:
  enum class Open : char { kArray, kInlineTable, kTableHeader };

  // TOML 1.0 allows no control character but tab anywhere, and a carriage return only before a line feed
  // (strings must escape the rest), so refusing them costs no valid document. It also keeps NULs and other
  // bytes toml++ scans past on error paths from shifting where its lexer and this one think a token ends.
  std::optional<UnsafeTomlText> find_control_character() const noexcept {
    for (std::size_t i = 0; i < text_.size(); ++i) {
      const auto c = static_cast<unsigned char>(text_[i]);
      if (c == '\t' || c == '\n' || (c >= 0x20 && c != 0x7F)) continue;
      if (c == '\r' && i + 1 < text_.size() && text_[i + 1] == '\n') continue;
      return UnsafeTomlText{i, kControlCharacter};
    }
    return std::nullopt;
  }

  static bool is_structural(char c) noexcept {
    return c == '=' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == '\n';
  }

  bool in(Open kind) const noexcept { return !open_.empty() && open_.back() == kind; }

  void take_structural(char c) {
    ++at_;
    switch (c) {
      case '=':
        expect_value_ = true;
        break;
      case '[':
        if (expect_value_ || in(Open::kArray)) {
          open_.push_back(Open::kArray);
          expect_value_ = true;
        } else {
          open_.push_back(Open::kTableHeader);
        }
        break;
      case '{':
        open_.push_back(Open::kInlineTable);
        expect_value_ = false;
        break;
      case ']':
      case '}':
        if (!open_.empty()) open_.pop_back();
        expect_value_ = false;
        break;
      case ',':
        expect_value_ = in(Open::kArray);
        break;
      case '\n':
        if (!in(Open::kArray)) expect_value_ = false;
        if (in(Open::kTableHeader)) open_.clear();  // an unclosed header: toml++ has already refused it
        break;
      default:
        break;
    }
  }

  // A bare value runs to a value terminator, quotes included. A date followed by a space and a digit is
  // scanned on as a date-time (toml++ accepts "1979-05-27 07:32:00"), so the run continues there too, and
  // toml++ then takes the character after that digit into the value whatever it is, a terminator included
  // (in `1979-05-27 0]'é'` its scan runs on past the bracket and the quote), so that one is skipped too.
  std::optional<UnsafeTomlText> skip_bare_value() noexcept {
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (!is_ascii(c)) return UnsafeTomlText{at_, kOutsideString};
      if (c == ' ' && at_ + 1 < text_.size() && is_digit(text_[at_ + 1])) {
        at_ += 2;
        if (at_ < text_.size() && !is_ascii(text_[at_])) return UnsafeTomlText{at_, kOutsideString};
        if (at_ < text_.size()) ++at_;
        continue;
      }
      if (ends_bare_value(c)) break;
      ++at_;
    }
    return std::nullopt;
  }

  bool opens_with(std::string_view delimiter) const noexcept {
    return text_.substr(at_).starts_with(delimiter);
  }

  void skip_comment() noexcept {
    while (at_ < text_.size() && text_[at_] != '\n') ++at_;
  }

  // A multi-line string's closing delimiter may be followed by up to two more quotes, which belong to the
  // string's content (TOML 1.0, "Strings").
  void skip_closing_quotes(char quote) noexcept {
    at_ += 3;
    for (int extra = 0; extra < 2 && at_ < text_.size() && text_[at_] == quote; ++extra) ++at_;
  }

  std::optional<UnsafeTomlText> skip_string(char quote) noexcept {
    const std::string_view triple = quote == '"' ? std::string_view("\"\"\"") : std::string_view("'''");
    if (opens_with(triple)) {
      at_ += 3;
      return quote == '"' ? skip_multi_line_basic() : skip_multi_line_literal();
    }
    ++at_;
    // Single-line strings end at their quote, or (an error toml++ reports itself) at the end of the line.
    while (at_ < text_.size() && text_[at_] != quote && text_[at_] != '\n') {
      at_ += (quote == '"' && text_[at_] == '\\' && at_ + 1 < text_.size() && text_[at_ + 1] != '\n') ? 2 : 1;
    }
    if (at_ < text_.size() && text_[at_] == quote) ++at_;
    return std::nullopt;
  }

  std::optional<UnsafeTomlText> skip_multi_line_literal() noexcept {
    while (at_ < text_.size()) {
      if (opens_with("'''")) {
        skip_closing_quotes('\'');
        return std::nullopt;
      }
      ++at_;
    }
    return std::nullopt;
  }

  std::optional<UnsafeTomlText> skip_multi_line_basic() noexcept {
    while (at_ < text_.size()) {
      if (opens_with("\"\"\"")) {
        skip_closing_quotes('"');
        return std::nullopt;
      }
      if (text_[at_] != '\\') {
        ++at_;
        continue;
      }
      ++at_;  // the backslash: toml++ classifies what follows it, and every character a line-ending
              // backslash trims, plus the first one it does not
      const std::size_t escaped = at_;
      while (at_ < text_.size() && is_trimmed_whitespace(text_[at_])) ++at_;
      if (at_ == text_.size()) break;
      if (!is_ascii(text_[at_])) return UnsafeTomlText{at_, kAfterBackslash};
      // An escaped quote or backslash is content: it must not be read as a delimiter or as the start of
      // another escape. After trimmed whitespace the character is not escaped.
      if (at_ == escaped && (text_[at_] == '"' || text_[at_] == '\\')) ++at_;
    }
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t at_ = 0;
  bool expect_value_ = false;  // a value comes next (after '=', or in an array), else a key
  std::vector<Open> open_;     // the brackets and braces open around at_
};

}  // namespace

std::optional<UnsafeTomlText> find_unsafe_toml_text(std::string_view text) { return Scanner(text).run(); }

}  // namespace remo::core
