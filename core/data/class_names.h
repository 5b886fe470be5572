#pragma once
// A names file: one class name a line, line k naming class k-1 (0-based class index k-1, category
// id k). Used by the TXT list (its cls column indexes it) and by VOC (it fixes which <name>s are
// allowed and their order).
#include <string>
#include <vector>

namespace studio {

// Trailing blank lines are ignored; a blank line in the middle (it would shift every later
// class), a name given twice, or a file without names is a studio::Error naming file:line.
[[nodiscard]] std::vector<std::string> read_class_names(const std::string& path);

// "cat, dog, person" for messages.
[[nodiscard]] std::string join_class_names(const std::vector<std::string>& names);

}  // namespace studio
