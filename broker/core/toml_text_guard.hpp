// A lexical check run on untrusted TOML text before it reaches toml++.
//
// toml++ 3.3 (Debian 12) classifies some non-ASCII code points with generated lookup code that reaches
// TOML_UNREACHABLE (__builtin_unreachable) for many code points between U+00A1 and U+FEFE, i.e. undefined
// behaviour, whenever it asks "is this whitespace?" about a non-ASCII character. It asks that everywhere
// outside strings and comments: between tokens, after a bare key, and all along a bare value (a number,
// date or boolean, which it scans up to a value terminator, quotes included: in `a = 0"é"` the é is not in
// a string). Inside multi-line basic strings it asks about the characters right after a backslash (an
// escape, or a line-ending backslash and the whitespace it trims). Elsewhere in strings, and in comments,
// it never asks.
//
// TOML 1.0 itself allows non-ASCII only in strings and comments, so refusing it everywhere else costs no
// valid document; the only valid documents refused are multi-line basic strings whose line-ending
// backslash is followed (after the trimmed whitespace) by a non-ASCII character.
//
// Control characters (all but tab, line feed, and carriage return before a line feed) are refused
// anywhere, as TOML 1.0 refuses them: toml++'s error paths scan past them in ways a lexer cannot follow.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace remo::core {

struct UnsafeTomlText {
  std::size_t offset;    // 0-based byte offset of the refused byte in the text
  std::string_view why;  // a fixed phrase, never a quote of the text
};

// The first byte that toml++ must not see, if any. A UTF-8 byte order mark at the very start is allowed
// (toml++ skips it before parsing).
std::optional<UnsafeTomlText> find_unsafe_toml_text(std::string_view text);

}  // namespace remo::core
