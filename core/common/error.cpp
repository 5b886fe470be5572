#include "common/error.h"

namespace studio {

std::string at_line(const std::string& file, long line, const std::string& message) {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  out += message;
  return out;
}

void fail_at(const std::string& file, long line, const std::string& message) {
  throw Error(at_line(file, line, message));
}

}  // namespace studio
