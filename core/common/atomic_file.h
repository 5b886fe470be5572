#pragma once
// Writes that never leave a half-written file behind: content goes to a temporary file in the
// same folder, is flushed, and is renamed over the target in one step.
#include <string>
#include <string_view>

namespace studio {

// Throws studio::Error naming the path when the folder is missing or not writable.
void write_file_atomic(const std::string& path, std::string_view content);

// Reads a whole file; throws studio::Error naming the path when it can't be read.
[[nodiscard]] std::string read_file(const std::string& path);

}  // namespace studio
