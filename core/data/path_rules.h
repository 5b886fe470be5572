#pragma once
// Whether an image's file name leaves the folder it is read relative to: an absolute path, or one
// that climbs out with "..". The checker warns about such names (path_outside_image_folder); a
// dataset with `outside_paths: refuse` is not read at all.
#include <filesystem>
#include <string>

namespace studio {

enum class OutsidePath { Inside, Absolute, Climbs };

[[nodiscard]] inline OutsidePath outside_path(const std::string& file_name) {
  const std::filesystem::path name(file_name);
  if (name.is_absolute() || name.has_root_name() || name.has_root_directory()) return OutsidePath::Absolute;
  const std::filesystem::path inside = name.lexically_normal();
  return !inside.empty() && *inside.begin() == ".." ? OutsidePath::Climbs : OutsidePath::Inside;
}

[[nodiscard]] inline const char* outside_path_text(OutsidePath p) {
  return p == OutsidePath::Absolute ? "is an absolute path" : "climbs out with ..";
}

}  // namespace studio
