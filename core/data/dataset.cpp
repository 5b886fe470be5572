#include "data/dataset.h"

#include <filesystem>

namespace studio {

void Dataset::index() {
  image_pos_.clear();
  category_pos_.clear();
  anns_by_image_.clear();
  image_pos_.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) image_pos_.emplace(images[i].id, i);
  for (std::size_t i = 0; i < categories.size(); ++i) category_pos_.emplace(categories[i].id, i);
  anns_by_image_.reserve(images.size());
  for (std::size_t i = 0; i < annotations.size(); ++i)
    anns_by_image_[annotations[i].image_id].push_back(i);
}

const ImageInfo* Dataset::image_by_id(std::int64_t id) const {
  auto it = image_pos_.find(id);
  return it == image_pos_.end() ? nullptr : &images[it->second];
}

const Category* Dataset::category_by_id(std::int64_t id) const {
  auto it = category_pos_.find(id);
  return it == category_pos_.end() ? nullptr : &categories[it->second];
}

int Dataset::category_index(std::int64_t id) const {
  auto it = category_pos_.find(id);
  return it == category_pos_.end() ? -1 : static_cast<int>(it->second);
}

const std::vector<std::size_t>& Dataset::annotations_of(std::int64_t image_id) const {
  static const std::vector<std::size_t> kEmpty;
  auto it = anns_by_image_.find(image_id);
  return it == anns_by_image_.end() ? kEmpty : it->second;
}

std::string Dataset::image_path(const ImageInfo& image) const {
  if (image_root.empty()) return image.file_name;
  return (std::filesystem::path(image_root) / image.file_name).string();
}

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> kNames = {
      "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",         "car",
      "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",       "motorbike",
      "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
  return kNames;
}

}  // namespace studio
