#include "data/dataset_writers.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "common/atomic_file.h"
#include "common/error.h"

namespace studio {

namespace fs = std::filesystem;

namespace {

void make_folder(const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error(folder.string() + ": cannot create folder (" + ec.message() + ")");
}

// Whole-pixel corners of a COCO box: 0-based, x2/y2 exclusive.
struct Corners {
  long x1, y1, x2, y2;
};
Corners corners_of(const Annotation& a) {
  return {std::lround(a.bbox[0]), std::lround(a.bbox[1]), std::lround(a.bbox[0] + a.bbox[2]),
          std::lround(a.bbox[1] + a.bbox[3])};
}

std::string names_text(const Dataset& ds) {
  std::string text;
  for (const Category& c : ds.categories) {
    if (c.name.empty() || c.name.find('\n') != std::string::npos)
      throw Error("category id " + std::to_string(c.id) + ": a class name must be one non-empty line");
    text += c.name + "\n";
  }
  return text;
}

// Each image's annotations (in dataset order) with their category's 0-based position, read from
// the caller's dataset as it is (index() would need a copy to build its lookups).
struct Grouped {
  std::unordered_map<std::int64_t, std::vector<std::pair<const Annotation*, int>>> by_image;
  [[nodiscard]] const std::vector<std::pair<const Annotation*, int>>& of(std::int64_t image_id) const {
    static const std::vector<std::pair<const Annotation*, int>> kNone;
    const auto it = by_image.find(image_id);
    return it == by_image.end() ? kNone : it->second;
  }
};
Grouped group_annotations(const Dataset& ds) {
  std::unordered_map<std::int64_t, int> position;
  for (std::size_t k = 0; k < ds.categories.size(); ++k) position.emplace(ds.categories[k].id, static_cast<int>(k));
  Grouped g;
  for (const Annotation& a : ds.annotations) {
    const auto it = position.find(a.category_id);
    if (it == position.end())
      throw Error("annotation id " + std::to_string(a.id) + ": category_id " + std::to_string(a.category_id) +
                  " is not among the dataset's categories");
    g.by_image[a.image_id].emplace_back(&a, it->second);
  }
  return g;
}

}  // namespace

void write_voc_folder(const Dataset& dataset, const std::string& root, const std::string& split) {
  const Dataset& ds = dataset;
  const Grouped grouped = group_annotations(ds);
  const fs::path base(root);
  make_folder(base / "Annotations");
  make_folder(base / "ImageSets" / "Main");
  std::string ids;
  for (const ImageInfo& im : ds.images) {
    const std::string stem = fs::path(im.file_name).stem().string();
    pugi::xml_document doc;
    pugi::xml_node ann = doc.append_child("annotation");
    ann.append_child("folder").text().set("JPEGImages");
    ann.append_child("filename").text().set(fs::path(im.file_name).filename().string().c_str());
    pugi::xml_node size = ann.append_child("size");
    size.append_child("width").text().set(im.width);
    size.append_child("height").text().set(im.height);
    size.append_child("depth").text().set(3);
    ann.append_child("segmented").text().set(0);
    for (const auto& [object, position] : grouped.of(im.id)) {
      const Annotation& a = *object;
      const Category& c = ds.categories[static_cast<std::size_t>(position)];
      const Corners k = corners_of(a);
      pugi::xml_node obj = ann.append_child("object");
      obj.append_child("name").text().set(c.name.c_str());
      obj.append_child("pose").text().set("Unspecified");
      obj.append_child("truncated").text().set(a.truncated ? 1 : 0);
      obj.append_child("difficult").text().set(a.difficult ? 1 : 0);
      pugi::xml_node box = obj.append_child("bndbox");
      // 1-based inclusive corners (voc_reader.h): x = xmin - 1, w = xmax - xmin + 1.
      box.append_child("xmin").text().set(static_cast<long long>(k.x1 + 1));
      box.append_child("ymin").text().set(static_cast<long long>(k.y1 + 1));
      box.append_child("xmax").text().set(static_cast<long long>(k.x2));
      box.append_child("ymax").text().set(static_cast<long long>(k.y2));
    }
    std::ostringstream xml;
    doc.save(xml, "  ");
    write_file_atomic((base / "Annotations" / (stem + ".xml")).string(), xml.str());
    ids += stem + "\n";
  }
  write_file_atomic((base / "ImageSets" / "Main" / (split + ".txt")).string(), ids);
  write_file_atomic((base / "names.txt").string(), names_text(ds));
}

void write_txt_list(const Dataset& dataset, const std::string& list_path, const std::string& names_path) {
  const Dataset& ds = dataset;
  const Grouped grouped = group_annotations(ds);
  std::string text;
  for (const ImageInfo& im : ds.images) {
    if (im.file_name.find_first_of(" \t\n") != std::string::npos)
      throw Error(im.file_name + ": a TXT list cannot hold a file name with white space");
    text += im.file_name;
    for (const auto& [ann, position] : grouped.of(im.id)) {
      const Corners k = corners_of(*ann);
      text += " " + std::to_string(k.x1) + "," + std::to_string(k.y1) + "," + std::to_string(k.x2) + "," +
              std::to_string(k.y2) + "," + std::to_string(position);
    }
    text += "\n";
  }
  const fs::path list(list_path);
  if (list.has_parent_path()) make_folder(list.parent_path());
  write_file_atomic(list_path, text);
  write_file_atomic(names_path, names_text(ds));
}

}  // namespace studio
