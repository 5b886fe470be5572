#pragma once
// A structural pre-pass over a JSON text whose top level is an object (or an array), so that the big arrays of a
// COCO file can be parsed in pieces, on several threads, each piece by its own small simdjson
// parser instead of one index of the whole file.
//
// The pass only follows strings and brackets (16 bytes at a time), so it is several times faster
// than parsing. It answers nothing when the text is not plainly shaped (no top-level object,
// unbalanced or mismatched brackets, an unterminated string, text after the object, a key twice):
// the caller then parses the whole text the ordinary way, whose messages name the problem.
// Within the spans it hands out nothing is validated: parsing them is the caller's job.
#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace studio {

struct JsonSpan {
  std::size_t begin = 0, end = 0;  // byte offsets, end exclusive
};

struct JsonTopField {
  std::string_view key;  // raw bytes between the quotes (escapes not decoded)
  JsonSpan value;        // the value's text
  bool is_array = false;
  // For an array value whose key was asked for: each element, from its '{' to just past its '}'.
  // Every element is an object and the text between them is whitespace and single commas (else
  // the pass answers nothing).
  std::vector<JsonSpan> objects;
};

// `release(offset)`: called now and then with how far the pass has read, so a caller that mapped
// the file may hand those pages back. Keys listed in `keep_objects` get their object elements
// listed; other arrays are only skipped.
[[nodiscard]] std::optional<std::vector<JsonTopField>> split_top_level(
    std::string_view json, const std::vector<std::string_view>& keep_objects,
    const std::function<void(std::size_t)>& release = {});

// The same for a text that is one array of objects (a COCO results file): each element's span.
[[nodiscard]] std::optional<std::vector<JsonSpan>> split_array(std::string_view json,
                                                               const std::function<void(std::size_t)>& release = {});

}  // namespace studio
