#pragma once
// Why a JSON text does not parse, said the way a user can act on it. simdjson reports broken JSON
// by error class ("improper structure", "ended early") and where its walk stood, which for an
// unclosed bracket or trailing data is far from the cause. On the error path the readers run this
// strict scanner over the text: it stops at the first problem and names it with its byte offset,
// line and column, and the likely cause: a UTF-16 or UTF-32 encoding, a byte order mark, NaN or
// Infinity (not JSON), an unterminated string, a bracket closed by the wrong one or never closed
// (with where it opened; an unclosed one is reported at the end of the file), a missing comma or
// colon, data after the top-level value.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace studio {

struct JsonProblem {
  std::size_t offset = 0;  // byte offset of the problem
  long line = 1;           // 1-based
  long column = 1;         // 1-based, in bytes
  std::string what;

  // "malformed JSON at column C (byte N): what", for a message that already names the file and line.
  [[nodiscard]] std::string message() const;
};

// The first problem in `text`, or nothing when it is one valid JSON value (RFC 8259; whitespace
// around it allowed). Linear in the text; nesting depth is tracked on the heap.
[[nodiscard]] std::optional<JsonProblem> diagnose_json(std::string_view text);

}  // namespace studio
