#include "data/class_names.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <unordered_map>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/text_check.h"

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

}  // namespace

std::vector<std::string> read_class_names(const std::string& path) {
  const std::string text = read_file(path);
  if (const std::size_t bad = first_non_text_byte(text); bad != std::string_view::npos)
    fail_at(path, line_of_offset(text, bad),
            "not a text file of class names: " + describe_byte_at(text, bad) +
                " is not UTF-8 text (expected one class name a line)");
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
