#pragma once
// Whether bytes are text a person wrote: the readers of text formats (names files, recipes) refuse
// binary or mis-encoded files with the offset of the first byte that is not.
#include <cstddef>
#include <string>
#include <string_view>

namespace studio {

// The first byte that no text file holds: a control character other than tab, CR and LF (NUL
// included: a binary file), DEL, or a byte sequence that is not UTF-8. npos when the text is clean.
[[nodiscard]] std::size_t first_non_text_byte(std::string_view text);

// "byte 0xFF at offset 12": for messages about that byte.
[[nodiscard]] std::string describe_byte_at(std::string_view text, std::size_t offset);

// The 1-based line of `offset`.
[[nodiscard]] long line_of_offset(std::string_view text, std::size_t offset);

}  // namespace studio
