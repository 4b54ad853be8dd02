// UTF-8 validation for untrusted request lines (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF).
#pragma once

#include <string_view>

namespace remo::protocol {

bool is_valid_utf8(std::string_view text) noexcept;

}  // namespace remo::protocol
