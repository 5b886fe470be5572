#include "data/class_names.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <unordered_map>

#include "common/atomic_file.h"
#include "common/error.h"

namespace studio {

namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The first byte that no text names file holds: a control character other than tab/CR/LF (NUL
// included: a binary file) or a byte sequence that is not UTF-8. npos when the text is clean.
std::size_t first_non_text_byte(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) return i;
      ++i;
      continue;
    }
    const std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (len == 0 || i + len > text.size()) return i;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace

std::vector<std::string> read_class_names(const std::string& path) {
  const std::string text = read_file(path);
  if (const std::size_t bad = first_non_text_byte(text); bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    fail_at(path, 1 + static_cast<long>(std::count(text.begin(), text.begin() + static_cast<long>(bad), '\n')),
            std::string("not a text file of class names: byte ") + hex + " at offset " + std::to_string(bad) +
                " is not UTF-8 text (expected one class name a line)");
  }
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    lines.push_back(std::string_view(text).substr(pos, eol - pos));
    pos = eol + 1;
  }
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();

  std::vector<std::string> names;
  names.reserve(lines.size());
  std::unordered_map<std::string, long> line_of;  // name -> the line that first gave it
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const long line = static_cast<long>(i + 1);
    const std::string name(trim(lines[i]));
    if (name.empty()) fail_at(path, line, "empty class name (line k names class k-1; remove the blank line)");
    const auto [first, inserted] = line_of.emplace(name, line);
    // Two classes with one name could not be told apart in results, nor by name in VOC files.
    if (!inserted)
      fail_at(
          path, line,
          "class name '" + name + "' is given again (first on line " + std::to_string(first->second) + ")");
    names.push_back(name);
  }
  if (names.empty()) throw Error(path + ": names file has no class names");
  return names;
}

std::string join_class_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace studio
