#include "broker/core/toml_text_guard.hpp"

namespace remo::core {
namespace {

constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";
constexpr std::string_view kOutsideString = "non-ASCII byte outside a string or comment";
constexpr std::string_view kAfterBackslash = "non-ASCII byte after a backslash in a multi-line string";

bool is_ascii(char c) noexcept { return static_cast<unsigned char>(c) < 0x80; }

// The whitespace a line-ending backslash trims: spaces, tabs and line breaks.
bool is_trimmed_whitespace(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Walks the text as the TOML lexer would, knowing only where comments and strings begin and end.
class Scanner {
 public:
  explicit Scanner(std::string_view text) noexcept : text_(text) {}

  std::optional<UnsafeTomlText> run() noexcept {
    if (text_.starts_with(kUtf8ByteOrderMark)) at_ = kUtf8ByteOrderMark.size();
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == '#') {
        skip_comment();
      } else if (c == '"' || c == '\'') {
        if (auto problem = skip_string(c)) return problem;
      } else if (!is_ascii(c)) {
        return UnsafeTomlText{at_, kOutsideString};
      } else {
        ++at_;
      }
    }
    return std::nullopt;
  }

 private:
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
};

}  // namespace

std::optional<UnsafeTomlText> find_unsafe_toml_text(std::string_view text) noexcept {
  return Scanner(text).run();
}

}  // namespace remo::core
