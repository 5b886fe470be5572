#pragma once
// The plain TXT list used by SSD recipes: one image a line,
//   relative/path.jpg x1,y1,x2,y2,cls x1,y1,x2,y2,cls ...
// Corners are 0-based continuous pixel coordinates (x2, y2 exclusive): box = [x1, y1, x2-x1, y2-y1].
// cls is a 0-based class index; names come from an optional names file (one name a line,
// line k = class k); without it classes are named "class_<k>". Category ids are cls + 1.
// Image sizes are read from the image file headers (0 when the file is missing or unreadable;
// the checker reports those).
#include <string>

#include "common/progress.h"
#include "data/dataset.h"

namespace studio {

[[nodiscard]] Dataset read_txt(const std::string& list_path, const std::string& image_root,
                               const std::string& names_path = "", const Progress& progress = {});

}  // namespace studio
