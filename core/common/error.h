#pragma once
// One exception type for every user-facing failure. The message is complete and ready to print:
// it names the file, the line or JSON path, and what was expected, e.g.
//   "ann.json: annotations[12].bbox: expected an array of 4 numbers, got a string"
#include <stdexcept>
#include <string>

namespace studio {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<file>:<line>: <message>" (line omitted when 0).
[[nodiscard]] std::string at_line(const std::string& file, long line, const std::string& message);

// Throws studio::Error with at_line(file, line, message).
[[noreturn]] void fail_at(const std::string& file, long line, const std::string& message);

}  // namespace studio
