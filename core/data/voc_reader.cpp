#include "data/voc_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <string_view>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/class_names.h"
#include "data/image_io.h"
#include "data/rle.h"

namespace studio {

namespace {

namespace fs = std::filesystem;

// Paths come from split files and XML: one the file system refuses (a name too long, ...) is
// simply not there, never a std::filesystem exception.
bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Whole-string number; from_chars is locale-independent (a German locale must not turn "12.5"
// into 12). Leading '+' is not accepted by from_chars, nor by us.
std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// One annotation file held in memory, so that pugixml's byte offsets can be turned into the
// line numbers a person looks for in an editor.
class XmlFile {
 public:
  XmlFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& text() const { return text_; }

  // 1-based line of a byte offset (0 when unknown).
  [[nodiscard]] long line_of(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), std::size_t(offset));
    return static_cast<long>(it - line_starts_.begin());
  }
  [[nodiscard]] long line_of(const pugi::xml_node& node) const { return line_of(node.offset_debug()); }

  [[noreturn]] void fail(const pugi::xml_node& node, const std::string& where, const std::string& message) const {
    fail_at(path_, line_of(node), where + ": " + message);
  }

 private:
  std::string path_;
  std::string text_;
  std::vector<std::size_t> line_starts_;
};

// A required child element; `where` is the element path used in messages ("<object>/<bndbox>").
pugi::xml_node need_child(const XmlFile& file, const pugi::xml_node& parent, const char* name,
                          const std::string& where) {
  pugi::xml_node child = parent.child(name);
  if (!child) file.fail(parent, where + "/<" + name + ">", "missing");
  return child;
}

double need_number(const XmlFile& file, const pugi::xml_node& parent, const char* name, const std::string& where) {
  const pugi::xml_node node = need_child(file, parent, name, where);
  const std::string_view text = trim(node.child_value());
  const auto value = parse_number(text);
  if (!value) file.fail(node, where + "/<" + name + ">", "expected a number, got '" + std::string(text) + "'");
  return *value;
}

// VOC flags (<difficult>, <truncated>) are 0/1; absent or empty means 0.
bool read_flag(const XmlFile& file, const pugi::xml_node& parent, const char* name, const std::string& where) {
  const pugi::xml_node node = parent.child(name);
  if (!node) return false;
  const std::string_view text = trim(node.child_value());
  if (text.empty()) return false;
  const auto value = parse_number(text);
  if (!value || (*value != 0 && *value != 1))
    file.fail(node, where + "/<" + name + ">", "expected 0 or 1, got '" + std::string(text) + "'");
  return *value != 0;
}

struct SplitEntry {
  std::string root;
  std::string id;
  std::string split_file;
  long line = 0;
};

// Ids of one split file. Main splits hold one id a line; class splits ("aeroplane_trainval")
// add a column where -1 marks images without that class, which we leave out.
void read_split(const std::string& root, const std::string& split, std::vector<SplitEntry>& out) {
  const std::string path = (fs::path(root) / "ImageSets" / "Main" / (split + ".txt")).string();
  if (!is_file(path))
    throw Error(path + ": split file not found (VOC root '" + root + "', split '" + split +
                "'; expected ImageSets/Main/" + split + ".txt)");
  const std::string text = read_file(path);
  std::size_t pos = 0;
  long line_no = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    ++line_no;
    std::string_view line = trim(std::string_view(text).substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty()) continue;
    const std::size_t sp = line.find_first_of(" \t");
    const std::string_view id = line.substr(0, sp);
    if (sp != std::string_view::npos && trim(line.substr(sp)) == "-1") continue;
    out.push_back({root, std::string(id), path, line_no});
  }
}

// Instance masks from SegmentationObject/<id>.png: pixel value k (1..N) is the k-th <object> of
// the XML, 0 is background and 255 the void border around objects (belongs to no instance).
// `objects` points at the image's annotations, `n` of them, in XML order.
void attach_masks(const std::string& png_path, const std::string& xml_path, int width, int height,
                  Annotation* objects, std::size_t n) {
  int w = 0, h = 0;
  const std::vector<std::uint8_t> index = read_index_png(png_path, &w, &h);
  if (w != width || h != height)
    throw Error(png_path + ": mask is " + std::to_string(w) + "x" + std::to_string(h) + " but " + xml_path +
                " gives the image size " + std::to_string(width) + "x" + std::to_string(height));
  std::vector<std::uint64_t> count(256, 0);
  for (const std::uint8_t v : index) ++count[v];
  for (std::size_t v = n + 1; v < 255; ++v)
    if (count[v] != 0)
      throw Error(png_path + ": pixel value " + std::to_string(v) + " names instance " + std::to_string(v) +
                  " but " + xml_path + " has " + std::to_string(n) + " <object> elements");
  std::vector<std::uint8_t> binary(index.size());
  // Values 1..254 can name instances (255 is void), so a 255th object has no mask to read.
  for (std::size_t k = 0; k < n && k < 254; ++k) {
    const std::uint8_t value = static_cast<std::uint8_t>(k + 1);
    // An object drawn in no pixel (it happens when an instance is entirely void) keeps its box
    // only: an empty mask would teach a mask head that the object is nowhere.
    if (count[value] == 0) continue;
    std::transform(index.begin(), index.end(), binary.begin(),
                   [value](std::uint8_t v) { return static_cast<std::uint8_t>(v == value); });
    objects[k].rle = rle_encode(binary.data(), static_cast<std::uint32_t>(h), static_cast<std::uint32_t>(w));
    objects[k].area = static_cast<double>(count[value]);
  }
}

struct ClassTable {
  // Fixed: the standard 20 or a names file's classes (ids 1..N), anything else is an error.
  // Not fixed: the names found in the files, numbered once all are read.
  bool fixed = true;
  std::vector<std::string> names;           // fixed classes in id order
  std::string allowed;                      // what a message says the fixed classes are
  std::map<std::string, std::int64_t> ids;  // fixed: name -> 1..N; found: name -> 0 until sorted
};

// Reads one annotation file into `image` and appends its objects (category ids still provisional
// when the classes are collected from the files).
void read_annotation(const SplitEntry& entry, ClassTable& classes, bool load_masks, ImageInfo& image,
                     std::vector<Annotation>& objects, std::vector<std::string>& object_names) {
  const fs::path root(entry.root);
  const std::string xml_path = (root / "Annotations" / (entry.id + ".xml")).string();
  if (!is_file(xml_path))
    fail_at(entry.split_file, entry.line, "image '" + entry.id + "' is listed but " + xml_path + " does not exist");
  const XmlFile file(xml_path, read_file(xml_path));

  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(file.text().data(), file.text().size());
  if (!parsed)
    fail_at(xml_path, file.line_of(parsed.offset), std::string("malformed XML: ") + parsed.description());
  const pugi::xml_node ann = doc.document_element();
  if (std::string_view(ann.name()) != "annotation")
    file.fail(ann, "<" + std::string(ann.name()) + ">", "expected the root element <annotation>");

  // VOC's <filename> is "<id>.jpg"; VOC-style exports from labelling tools keep the id but may
  // use another extension, which we honour. A different stem is a stale name: the id wins.
  std::string file_name = entry.id + ".jpg";
  const std::string given(trim(ann.child_value("filename")));
  if (!given.empty() && fs::path(given).stem().string() == entry.id) file_name = given;
  image.file_name = (root / "JPEGImages" / file_name).string();
  image.source_file = xml_path;
  image.source_line = file.line_of(ann);

  const pugi::xml_node size = need_child(file, ann, "size", "<annotation>");
  const double width = need_number(file, size, "width", "<size>");
  const double height = need_number(file, size, "height", "<size>");
  // The upper bound keeps the conversion to int defined (5e9 became some other number before).
  constexpr double kMaxSide = std::numeric_limits<int>::max();
  if (width < 0 || height < 0 || width != std::floor(width) || height != std::floor(height) ||
      width > kMaxSide || height > kMaxSide)
    file.fail(size, "<size>", "expected whole, non-negative <width> and <height> (at most 2147483647)");
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  // Some exporters write a zero size; the image header knows better.
  if (image.width == 0 || image.height == 0) {
    const auto probed = probe_image_size(image.file_name);
    if (!probed) file.fail(size, "<size>", "size is 0 and " + image.file_name + " could not be read to find it");
    image.width = probed->width;
    image.height = probed->height;
    image.size_from_image = true;
  }

  const std::size_t first = objects.size();
  for (pugi::xml_node obj = ann.child("object"); obj; obj = obj.next_sibling("object")) {
    Annotation a;
    a.image_id = image.id;
    const pugi::xml_node name_node = need_child(file, obj, "name", "<object>");
    std::string name(trim(name_node.child_value()));
    if (name.empty()) file.fail(name_node, "<object>/<name>", "empty class name");
    if (classes.fixed) {
      const auto it = classes.ids.find(name);
      if (it == classes.ids.end())
        file.fail(name_node, "<object>/<name>", "unknown class '" + name + "' (" + classes.allowed + ")");
      a.category_id = it->second;
    } else {
      classes.ids.emplace(name, 0);
    }
    a.source_line = file.line_of(obj);
    a.difficult = read_flag(file, obj, "difficult", "<object>");
    a.truncated = read_flag(file, obj, "truncated", "<object>");

    const pugi::xml_node box = need_child(file, obj, "bndbox", "<object>");
    const double xmin = need_number(file, box, "xmin", "<object>/<bndbox>");
    const double ymin = need_number(file, box, "ymin", "<object>/<bndbox>");
    const double xmax = need_number(file, box, "xmax", "<object>/<bndbox>");
    const double ymax = need_number(file, box, "ymax", "<object>/<bndbox>");
    if (xmax < xmin) file.fail(box, "<object>/<bndbox>", "xmax is less than xmin");
    if (ymax < ymin) file.fail(box, "<object>/<bndbox>", "ymax is less than ymin");
    // 1-based inclusive corners -> 0-based continuous box (see voc_reader.h).
    a.bbox = {xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1};
    a.area = a.bbox[2] * a.bbox[3];
    objects.push_back(std::move(a));
    object_names.push_back(std::move(name));
  }

  if (load_masks) {
    const std::string png_path = (root / "SegmentationObject" / (entry.id + ".png")).string();
    if (is_file(png_path))
      attach_masks(png_path, xml_path, image.width, image.height, objects.data() + first, objects.size() - first);
  }
}

}  // namespace

Dataset read_voc(const VocOptions& options, const Progress& progress) {
  if (options.roots.empty()) throw Error("VOC: no root folder given (expected a VOCdevkit root such as VOC2007)");
  if (options.split.empty()) throw Error("VOC: empty split name (expected e.g. trainval, train, val, test)");

  std::vector<SplitEntry> entries;
  for (const std::string& root : options.roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw Error(root + ": VOC root folder not found");
    read_split(root, options.split, entries);
  }

  ClassTable classes;
  if (!options.names_file.empty()) {
    classes.names = read_class_names(options.names_file);
    classes.allowed = "the names file " + options.names_file + " lists " + join_class_names(classes.names);
  } else if (options.standard_classes) {
    classes.names = voc_class_names();
    classes.allowed =
        "the 20 VOC classes are " + join_class_names(classes.names) +
        "; read with the classes found (standard_classes: false) or a names file for other names";
  } else {
    classes.fixed = false;
  }
  for (std::size_t i = 0; i < classes.names.size(); ++i)
    classes.ids.emplace(classes.names[i], static_cast<std::int64_t>(i + 1));

  Dataset ds;
  ds.format = DatasetFormat::Voc;
  ds.image_root = "";  // roots may differ; file names carry their root
  ds.source = "voc:";
  for (std::size_t i = 0; i < options.roots.size(); ++i) ds.source += (i ? "+" : "") + options.roots[i];
  ds.source += ":" + options.split;
  ds.images.reserve(entries.size());

  const std::string stage = "reading VOC annotations";
  std::vector<std::string> object_names;  // class name of each annotation, for found classes
  for (std::size_t i = 0; i < entries.size(); ++i) {
    progress.check_cancel();
    if (i % 64 == 0) progress(i, entries.size(), stage);
    ImageInfo image;
    image.id = static_cast<std::int64_t>(i + 1);
    read_annotation(entries[i], classes, options.load_masks, image, ds.annotations, object_names);
    ds.images.push_back(std::move(image));
  }
  progress(entries.size(), entries.size(), stage);

  if (classes.fixed) {
    for (std::size_t i = 0; i < classes.names.size(); ++i)
      ds.categories.push_back({static_cast<std::int64_t>(i + 1), classes.names[i], ""});
  } else {
    // std::map keeps the names sorted, so ids follow name order.
    std::int64_t next = 1;
    for (auto& [name, id] : classes.ids) {
      id = next++;
      ds.categories.push_back({id, name, ""});
    }
    for (std::size_t k = 0; k < ds.annotations.size(); ++k) ds.annotations[k].category_id = classes.ids[object_names[k]];
  }
  for (std::size_t k = 0; k < ds.annotations.size(); ++k) ds.annotations[k].id = static_cast<std::int64_t>(k + 1);
  ds.index();
  return ds;
}

}  // namespace studio
