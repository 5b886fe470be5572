#pragma once
// Predictions drawn over their image for `studio-cli infer --vis`: each instance's mask blended in
// a colour of its class, its box, and "name score" above the box.
#include <string>
#include <vector>

#include "data/dataset.h"
#include "modeling/structures.h"

namespace studio {

// Reads `image_path`, draws the instances with score >= score_thr and writes `out_path` (JPEG or
// PNG by extension). `categories[label]` names label. Errors name the file.
void draw_instances(const std::string& image_path, const Instances& instances,
                    const std::vector<Category>& categories, double score_thr, const std::string& out_path);

}  // namespace studio
