#include "data/coco_io.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>

#include "common/error.h"
#include "data/json_locator.h"
#include "data/json_pieces.h"

// COCO JSON reading (writing is in coco_writer.cpp). simdjson on-demand walks the file once, in
// order, converting numbers straight into the dataset (no DOM, no string per key). Keys are
// matched on their raw bytes; fields the model has no place for are skipped without being parsed.
// Everything that depends on another section (an RLE's size against its image, an area computed
// from a polygon) is checked after the walk, because COCO allows the sections in any order.
//
// Memory: the file is mapped rather than copied, and the part already walked is handed back to
// the kernel as the walk goes.
//
// Big files are read in pieces (read_in_pieces): a structural pre-pass (json_split.h) finds the
// sections and the elements of the big arrays; pieces of a few MB of elements are then parsed on
// every core, each by its own small simdjson parser, straight into their places in the dataset.
// The result is the same as one walk's, element for element, whatever the number of threads.
// Anything out of the ordinary (broken JSON, a missing field, a wrong type) sends the file to the
// one walk, whose messages name the problem and its line.

namespace studio {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// How often (in array elements) progress is reported and cancellation checked.
constexpr std::size_t kProgressEvery = 10000;

std::string element_path(std::string_view section, std::size_t index, std::string_view field = {}) {
  std::string p(section);
  p += '[';
  p += std::to_string(index);
  p += ']';
  if (!field.empty()) {
    p += '.';
    p += field;
  }
  return p;
}


class CocoParser : JsonLocator {
 public:
  CocoParser(const std::string& name, simdjson::padded_string_view json, const Progress& progress,
             MappedJson* mapped)
      : JsonLocator(name, json), progress_(progress), mapped_(mapped) {}

  Dataset parse() {
    od::document doc;
    if (auto e = parser_.iterate(json_).get(doc)) fail_json(e, "");
    doc_ = &doc;
    od::object root;
    if (auto e = doc.get_object().get(root)) {
      if (e != simdjson::INCORRECT_TYPE) fail_json(e, "");
      fail(location(), "(top level)",
           "expected an object with \"images\", \"annotations\" and \"categories\", got " +
               describe_document(doc));
    }
    bool has_images = false, has_annotations = false;
    for (auto field_result : root) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, "(top level)");
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "images") {
        parse_images(value);
        has_images = true;
      } else if (key == "annotations") {
        parse_annotations(value);
        has_annotations = true;
      } else if (key == "categories") {
        parse_categories(value);
      }
    }
    // current_location() only succeeds while tokens are left.
    if (const char* trailing = location())
      fail(trailing, "(top level)", "expected the end of the file after the top-level object");
    if (!has_images)
      fail(0L, "(top level)", "missing required field \"images\" (expected an array of images)");
    finish_annotations();
    ds_.annotation_list_missing = !has_annotations;
    progress_(json_.size(), json_.size(), "reading " + name_);
    return std::move(ds_);
  }

  // ---- pieces (read_in_pieces) -------------------------------------------------------------------

  // Parses `text`, an array of `count` elements of `section` whose first is the file's element
  // `first`, handing each to `take(value, index)`.
  template <class Take>
  void parse_piece(simdjson::padded_string_view text, std::string_view section, std::size_t first,
                   std::size_t count, Take&& take) {
    json_ = text;
    od::document doc;
    if (auto e = parser_.iterate(text).get(doc)) fail_json(e, std::string(section));
    doc_ = &doc;
    od::array array;
    if (auto e = doc.get_array().get(array)) fail_json(e, std::string(section));
    std::size_t k = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto e = element_result.get(element)) fail_json(e, element_path(section, first + k));
      if (k == count) break;
      take(element, first + k);
      ++k;
    }
    const bool complete = k == count && location() == nullptr;
    doc_ = nullptr;
    if (!complete) fail(0L, std::string(section), "a piece did not hold the elements the pre-pass found");
  }

 private:
  // ---- errors -------------------------------------------------------------------------------

  static std::string describe_token(std::string_view token) {
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.remove_suffix(1);
    if (token.size() > 32) return std::string(token.substr(0, 29)) + "...";
    return std::string(token);
  }

  // "an array", "a string \"abc\"", "-3", "null": what the file has where something else was expected.
  static std::string describe(od::value& v) {
    od::json_type type;
    if (v.type().get(type)) return kUnreadable;
    const std::string_view token = v.raw_json_token();
    const bool has_token = !token.empty();
    switch (type) {
      case od::json_type::array:
        return "an array";
      case od::json_type::object:
        return "an object";
      case od::json_type::string:
        return has_token ? "a string " + describe_token(token) : "a string";
      case od::json_type::number:
        return has_token ? describe_token(token) : "a number";
      case od::json_type::boolean:
        return has_token ? describe_token(token) : "a boolean";
      case od::json_type::null:
        return "null";
    }
    return "something else";
  }
  static std::string describe_document(od::document& d) {
    od::json_type type;
    if (d.type().get(type)) return kUnreadable;
    switch (type) {
      case od::json_type::array:
        return "an array (a results file?)";
      case od::json_type::object:
        return "an object";
      default:
        return "a single value";
    }
  }

  // The value at `v` has the wrong type (or is broken JSON): says which.
  template <class PathFn>
  [[noreturn]] void fail_type(error_code e, od::value& v, PathFn&& path, const std::string& expected) {
    if (e != simdjson::INCORRECT_TYPE && e != simdjson::NUMBER_OUT_OF_RANGE && e != simdjson::NUMBER_ERROR)
      fail_json(e, path());
    const char* at = location();
    fail(at, path(), "expected " + expected + ", got " + describe(v));
  }

  // ---- typed getters --------------------------------------------------------------------------

  template <class PathFn>
  double get_double(od::value& v, PathFn&& path) {
    double d;
    if (auto e = v.get_double().get(d)) fail_type(e, v, path, "a number");
    return d;
  }
  template <class PathFn>
  std::int64_t get_int64(od::value& v, PathFn&& path) {
    std::int64_t i;
    if (auto e = v.get_int64().get(i)) fail_type(e, v, path, "an integer");
    return i;
  }
  template <class PathFn>
  std::int64_t get_int_in(od::value& v, PathFn&& path, std::int64_t lo, std::int64_t hi, const char* what) {
    std::int64_t i;
    if (auto e = v.get_int64().get(i)) fail_type(e, v, path, what);
    if (i < lo || i > hi)
      fail(location(), path(), std::string("expected ") + what + ", got " + std::to_string(i));
    return i;
  }
  template <class PathFn>
  std::string_view get_string(od::value& v, PathFn&& path) {
    std::string_view s;  // valid until the parser parses another document
    if (auto e = v.get_string().get(s)) fail_type(e, v, path, "a string");
    return s;
  }
  template <class PathFn>
  bool get_flag(od::value& v, PathFn&& path) {
    bool b;
    if (!v.get_bool().get(b)) return b;
    return get_int_in(v, path, 0, 1, "0 or 1") != 0;
  }
  template <class PathFn>
  od::array get_array(od::value& v, PathFn&& path, const std::string& expected) {
    od::array a;
    if (auto e = v.get_array().get(a)) fail_type(e, v, path, expected);
    return a;
  }
  template <class PathFn>
  od::object get_object(od::value& v, PathFn&& path, const std::string& expected) {
    od::object o;
    if (auto e = v.get_object().get(o)) fail_type(e, v, path, expected);
    return o;
  }

  // Runs `fn(value, index)` on each element of the array `v`, reporting progress as it goes.
  template <class Fn>
  void for_each_element(od::value& v, std::string_view section, const std::string& expected, Fn&& fn) {
    od::array array = get_array(
        v, [&] { return std::string(section); }, expected);
    std::size_t index = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto e = element_result.get(element)) fail_json(e, element_path(section, index));
      fn(element, index);
      if (++index % kProgressEvery == 0) report();
    }
  }

  void report() {
    progress_.check_cancel();
    const char* at = location();
    const std::size_t done = at ? static_cast<std::size_t>(at - json_.data()) : json_.size();
    if (mapped_ && at) mapped_->release_before(at);
    progress_(done, json_.size(), "reading " + name_);
  }

  // ---- sections (public: read_in_pieces parses elements one by one) -------------------------------
 public:

  void parse_images(od::value& v) {
    ds_.images.reserve(std::max<std::size_t>(ds_.images.capacity(), 1024));
    for_each_element(v, "images", "an array of images",
                     [&](od::value& item, std::size_t i) { ds_.images.push_back(parse_image(item, i)); });
  }

  ImageInfo parse_image(od::value& item, std::size_t i) {
      const char* start = location();
      auto path = [&](std::string_view f = {}) { return element_path("images", i, f); };
      od::object obj = get_object(
          item, [&] { return path(); }, "an image object");
      ImageInfo image;
      bool has_id = false, has_file = false, has_w = false, has_h = false;
      for (auto field_result : obj) {
        od::field field;
        if (auto e = std::move(field_result).get(field)) fail_json(e, path());
        const od::raw_json_string key = field.key();
        od::value value = field.value();
        if (key == "id") {
          image.id = get_int64(value, [&] { return path("id"); });
          has_id = true;
        } else if (key == "file_name") {
          image.file_name = get_string(value, [&] { return path("file_name"); });
          has_file = true;
        } else if (key == "width") {
          image.width = static_cast<int>(get_int_in(
              value, [&] { return path("width"); }, 0, std::numeric_limits<int>::max(),
              "a non-negative integer"));
          has_w = true;
        } else if (key == "height") {
          image.height = static_cast<int>(get_int_in(
              value, [&] { return path("height"); }, 0, std::numeric_limits<int>::max(),
              "a non-negative integer"));
          has_h = true;
        }
      }
      if (!has_id) fail(start, path(), "missing required field \"id\" (expected an integer)");
      if (!has_file) fail(start, path(), "missing required field \"file_name\" (expected a string)");
      if (!has_w) fail(start, path(), "missing required field \"width\" (expected a non-negative integer)");
      if (!has_h) fail(start, path(), "missing required field \"height\" (expected a non-negative integer)");
      return image;
  }

  void parse_categories(od::value& v) {
    for_each_element(v, "categories", "an array of categories",
                     [&](od::value& item, std::size_t i) { ds_.categories.push_back(parse_category(item, i)); });
  }

  Category parse_category(od::value& item, std::size_t i) {
      const char* start = location();
      auto path = [&](std::string_view f = {}) { return element_path("categories", i, f); };
      od::object obj = get_object(
          item, [&] { return path(); }, "a category object");
      Category cat;
      bool has_id = false, has_name = false;
      for (auto field_result : obj) {
        od::field field;
        if (auto e = std::move(field_result).get(field)) fail_json(e, path());
        const od::raw_json_string key = field.key();
        od::value value = field.value();
        if (key == "id") {
          cat.id = get_int64(value, [&] { return path("id"); });
          has_id = true;
        } else if (key == "name") {
          cat.name = get_string(value, [&] { return path("name"); });
          has_name = true;
        } else if (key == "supercategory") {
          cat.supercategory = get_string(value, [&] { return path("supercategory"); });
        }
      }
      if (!has_id) fail(start, path(), "missing required field \"id\" (expected an integer)");
      if (!has_name) fail(start, path(), "missing required field \"name\" (expected a string)");
      return cat;
  }

 private:
  // Work left for after the walk, when all images are known.
  struct Pending {
    std::size_t annotation;
    const char* at;   // the annotation's start, for messages
    bool has_area;  // false: compute the area
  };

  void parse_annotations(od::value& v) {
    // Rough count from the file size (COCO polygons take ~450 bytes an annotation), so that the
    // vector grows at most once or twice instead of doubling from 1.
    ds_.annotations.reserve(std::max<std::size_t>(ds_.annotations.capacity(), json_.size() / 600));
    for_each_element(v, "annotations", "an array of annotations", [&](od::value& item, std::size_t i) {
      const char* start = location();
      bool has_area = false;
      Annotation ann = parse_annotation(item, i, has_area);
      if (!has_area || ann.rle) pending_.push_back({ds_.annotations.size(), start, has_area});
      ds_.annotations.push_back(std::move(ann));
    });
  }

 public:
  // One annotation object; `has_area`: whether it gives its area.
  Annotation parse_annotation(od::value& item, std::size_t i, bool& has_area) {
    const char* start = location();
    auto path = [&](std::string_view f = {}) { return element_path("annotations", i, f); };
    od::object obj = get_object(
        item, [&] { return path(); }, "an annotation object");
    Annotation ann;
    bool has_id = false, has_image = false, has_cat = false, has_bbox = false;
    has_area = false;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, path());
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "segmentation") {
        parse_segmentation(value, ann, i);
      } else if (key == "bbox") {
        parse_bbox(value, ann, i);
        has_bbox = true;
      } else if (key == "id") {
        ann.id = get_int64(value, [&] { return path("id"); });
        has_id = true;
      } else if (key == "image_id") {
        ann.image_id = get_int64(value, [&] { return path("image_id"); });
        has_image = true;
      } else if (key == "category_id") {
        ann.category_id = get_int64(value, [&] { return path("category_id"); });
        has_cat = true;
      } else if (key == "area") {
        ann.area = get_double(value, [&] { return path("area"); });
        has_area = true;
      } else if (key == "iscrowd") {
        ann.iscrowd = get_flag(value, [&] { return path("iscrowd"); });
      } else if (key == "difficult") {
        ann.difficult = get_flag(value, [&] { return path("difficult"); });
      } else if (key == "truncated") {
        ann.truncated = get_flag(value, [&] { return path("truncated"); });
      }
    }
    if (!has_id) fail(start, path(), "missing required field \"id\" (expected an integer)");
    if (!has_image) fail(start, path(), "missing required field \"image_id\" (expected an integer)");
    if (!has_cat) fail(start, path(), "missing required field \"category_id\" (expected an integer)");
    if (!has_bbox) fail(start, path(), "missing required field \"bbox\" (expected an array of 4 numbers)");
    return ann;
  }

 private:
  void parse_bbox(od::value& v, Annotation& ann, std::size_t i) {
    const char* expected = "an array of 4 numbers";
    auto path = [&] { return element_path("annotations", i, "bbox"); };
    od::array array = get_array(v, path, expected);
    std::size_t n = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto e = element_result.get(element)) fail_json(e, path());
      if (n == 4) fail(location(), path(), std::string("expected ") + expected + ", got more elements");
      double d;
      if (auto e = element.get_double().get(d)) {
        if (e != simdjson::INCORRECT_TYPE) fail_json(e, path());
        fail(location(), path(),
             std::string("expected ") + expected + ", got " + describe(element) + " at [" +
                 std::to_string(n) + "]");
      }
      ann.bbox[n++] = d;
    }
    if (n != 4) fail(location(), path(), std::string("expected ") + expected + ", got " + std::to_string(n));
  }

  // A list of polygons, an RLE object, or null (no mask).
  void parse_segmentation(od::value& v, Annotation& ann, std::size_t i) {
    auto path = [&] { return element_path("annotations", i, "segmentation"); };
    od::json_type type;
    if (auto e = v.type().get(type)) fail_json(e, path());
    if (type == od::json_type::null) return;
    if (type == od::json_type::object) {
      parse_rle(v, ann, i);
      return;
    }
    const char* expected = "a list of polygons or an RLE object";
    od::array polygons = get_array(v, path, expected);
    std::size_t p = 0;
    for (auto poly_result : polygons) {
      od::value poly;
      if (auto e = poly_result.get(poly)) fail_json(e, path());
      auto poly_path = [&] { return path() + "[" + std::to_string(p) + "]"; };
      od::array coords = get_array(poly, poly_path, "a polygon (an array of numbers x0,y0,x1,y1,...)");
      scratch_xy_.clear();
      for (auto c_result : coords) {
        od::value c;
        if (auto e = c_result.get(c)) fail_json(e, poly_path());
        double d;
        if (auto e = c.get_double().get(d)) {
          if (e != simdjson::INCORRECT_TYPE) fail_json(e, poly_path());
          fail(location(), poly_path(),
               "expected a number, got " + describe(c) + " at [" + std::to_string(scratch_xy_.size()) + "]");
        }
        scratch_xy_.push_back(d);
      }
      if (scratch_xy_.size() % 2 != 0)
        fail(location(), poly_path(),
             "expected an even number of coordinates (x,y pairs), got " + std::to_string(scratch_xy_.size()));
      // Exact-size copy: no spare capacity kept per polygon (there are millions).
      ann.polygons.emplace_back(scratch_xy_.begin(), scratch_xy_.end());
      ++p;
    }
  }

  // {"size": [h, w], "counts": "compressed" | [uncompressed runs]}, in either key order.
  void parse_rle(od::value& v, Annotation& ann, std::size_t i) {
    auto path = [&](std::string_view f = {}) {
      return element_path("annotations", i, f.empty() ? "segmentation" : "segmentation." + std::string(f));
    };
    const char* start = location();
    od::object obj = get_object(
        v, [&] { return path(); }, "an RLE object");
    std::int64_t hw[2] = {0, 0};
    bool has_size = false, has_counts = false, compressed = false;
    const char* counts_at = nullptr;
    std::string_view counts_string;
    scratch_counts_.clear();
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, path());
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "size") {
        const char* expected = "[height, width] (2 non-negative integers)";
        od::array size = get_array(
            value, [&] { return path("size"); }, expected);
        std::size_t n = 0;
        for (auto element_result : size) {
          od::value element;
          if (auto e = element_result.get(element)) fail_json(e, path("size"));
          if (n == 2) fail(location(), path("size"), std::string("expected ") + expected + ", got more");
          hw[n++] = get_int_in(
              element, [&] { return path("size"); }, 0, std::numeric_limits<std::uint32_t>::max(), expected);
        }
        if (n != 2)
          fail(location(), path("size"), std::string("expected ") + expected + ", got " + std::to_string(n));
        has_size = true;
      } else if (key == "counts") {
        counts_at = location();
        has_counts = true;
        od::json_type type;
        if (auto e = value.type().get(type)) fail_json(e, path("counts"));
        if (type == od::json_type::string) {
          compressed = true;
          counts_string = get_string(value, [&] { return path("counts"); });
        } else {
          const char* expected = "a compressed RLE string or an array of run lengths";
          od::array runs = get_array(
              value, [&] { return path("counts"); }, expected);
          for (auto run_result : runs) {
            od::value run;
            if (auto e = run_result.get(run)) fail_json(e, path("counts"));
            scratch_counts_.push_back(static_cast<std::uint32_t>(get_int_in(
                run, [&] { return path("counts"); }, 0, std::numeric_limits<std::uint32_t>::max(),
                "run lengths (non-negative integers)")));
          }
        }
      }
    }
    if (!has_size) fail(start, path(), "missing required field \"size\" (expected [height, width])");
    if (!has_counts) fail(start, path(), "missing required field \"counts\" (expected a string or an array)");
    const auto h = static_cast<std::uint32_t>(hw[0]), w = static_cast<std::uint32_t>(hw[1]);
    try {
      ann.rle = compressed ? rle_from_string(counts_string, h, w)
                           : rle_from_counts({scratch_counts_.begin(), scratch_counts_.end()}, h, w);
    } catch (const Error& e) {
      fail(counts_at, path("counts"), e.what());
    }
  }

  // Checks and areas that need the images (which may come after the annotations in the file).
  void finish_annotations() {
    if (pending_.empty()) return;
    std::unordered_map<std::int64_t, const ImageInfo*> images;
    images.reserve(ds_.images.size());
    for (const ImageInfo& image : ds_.images) images.emplace(image.id, &image);
    for (const Pending& p : pending_) {
      Annotation& ann = ds_.annotations[p.annotation];
      auto it = images.find(ann.image_id);
      complete_annotation(ann, it == images.end() ? nullptr : it->second, p.has_area, p.at, p.annotation);
    }
  }

 public:
  // An RLE's size must be its image's; a missing area is computed.
  void complete_annotation(Annotation& ann, const ImageInfo* image, bool has_area, const char* at,
                           std::size_t index) const {
    const bool sized = image && image->width > 0 && image->height > 0;
    if (ann.rle && sized &&
        (ann.rle->h != static_cast<std::uint32_t>(image->height) ||
         ann.rle->w != static_cast<std::uint32_t>(image->width)))
      fail(at, element_path("annotations", index, "segmentation.size"),
           "expected [" + std::to_string(image->height) + ", " + std::to_string(image->width) +
               "] (the size of image " + std::to_string(image->id) + "), got [" + std::to_string(ann.rle->h) +
               ", " + std::to_string(ann.rle->w) + "]");
    if (has_area) return;
    // As COCO defines it: the mask's pixel count; without a mask, the box's area.
    if (ann.rle) {
      ann.area = static_cast<double>(rle_area(*ann.rle));
    } else if (!ann.polygons.empty() && sized) {
      try {
        ann.area = static_cast<double>(rle_area(rle_from_polygons(
            ann.polygons, static_cast<std::uint32_t>(image->height), static_cast<std::uint32_t>(image->width))));
      } catch (const Error& e) {
        fail(at, element_path("annotations", index, "segmentation"), e.what());
      }
    } else {
      ann.area = ann.bbox[2] * ann.bbox[3];
    }
  }

 private:
  const Progress& progress_;
  MappedJson* mapped_;  // null when parsing from memory
  od::parser parser_;
  Dataset ds_;
  std::vector<Pending> pending_;
  std::vector<double> scratch_xy_;
  std::vector<std::uint32_t> scratch_counts_;
};

// ---- reading in pieces ---------------------------------------------------------------------------

// A top-level field the model has no place for ("info", "licenses", ...), `"key": value` parsed
// whole: bad UTF-8 or control characters in its key or value, a malformed number, anything the
// walk's parser refuses, sends the file to the walk for its message (fuzz/findings/coco/).
bool valid_field(std::string_view text, const JsonTopField& f) {
  const std::size_t begin = static_cast<std::size_t>(f.key.data() - text.data()) - 1;  // the key's quote
  std::string wrapped;
  wrapped.reserve(f.value.end - begin + 2);
  wrapped += '{';
  wrapped.append(text.substr(begin, f.value.end - begin));
  wrapped += '}';
  simdjson::dom::parser parser;
  return !parser.parse(simdjson::padded_string(wrapped)).error();
}

class PieceReader {
 public:
  PieceReader(MappedJson& mapped, const std::string& name, const Progress& progress, const ReadOptions& options)
      : mapped_(mapped),
        name_(name),
        progress_(progress),
        piece_bytes_(options.piece_bytes),
        runner_(mapped, options.threads, progress, "reading " + name) {
    for (int t = 0; t < runner_.threads(); ++t)
      parsers_.push_back(std::make_unique<CocoParser>(name, simdjson::padded_string_view(), no_progress_, nullptr));
  }

  // The dataset, or nothing when the file is not plainly shaped (the caller walks it whole).
  std::optional<Dataset> read() {
    const simdjson::padded_string_view view = mapped_.view();
    const std::string_view text(view.data(), view.size());
    const auto fields = split_top_level(text, {"images", "annotations", "categories"}, [&](std::size_t at) {
      mapped_.release_before(text.data() + at);
      mapped_.populate(text.data() + at, text.data() + at + kAhead);
    });
    if (!fields) return std::nullopt;
    const JsonTopField *images = nullptr, *categories = nullptr, *annotations = nullptr;
    for (const JsonTopField& f : *fields) {
      const JsonTopField** slot = f.key == "images"        ? &images
                                  : f.key == "categories"  ? &categories
                                  : f.key == "annotations" ? &annotations
                                                           : nullptr;
      if (slot == nullptr) {  // skipped, as the walk skips it, once checked as the walk's parser checks it
        if (!valid_field(text, f)) return std::nullopt;
        continue;
      }
      if (!f.is_array) return std::nullopt;
      *slot = &f;
    }
    if (!images) return std::nullopt;

    Dataset ds;
    std::vector<Piece> first_pass, second_pass;
    presize(ds.images, images->objects.size());
    add_pieces("images", images->objects, piece_bytes_, first_pass);
    if (categories) {
      presize(ds.categories, categories->objects.size());
      add_pieces("categories", categories->objects, piece_bytes_, first_pass);
    }
    ds.annotation_list_missing = annotations == nullptr;
    if (annotations) {
      presize(ds.annotations, annotations->objects.size());
      add_pieces("annotations", annotations->objects, piece_bytes_, second_pass);
    }
    runner_.set_total(text.size());

    const bool ok = runner_.run(first_pass, [&](int t, simdjson::padded_string_view piece_text, const Piece& p) {
      CocoParser& parser = *parsers_[static_cast<std::size_t>(t)];
      if (p.section == "images") {
        parser.parse_piece(piece_text, p.section, p.first, p.count,
                           [&](od::value& v, std::size_t i) { ds.images[i] = parser.parse_image(v, i); });
      } else {
        parser.parse_piece(piece_text, p.section, p.first, p.count,
                           [&](od::value& v, std::size_t i) { ds.categories[i] = parser.parse_category(v, i); });
      }
    });
    if (!ok) return std::nullopt;
    // The first image of an id wins, as in the walk.
    std::unordered_map<std::int64_t, const ImageInfo*> by_id;
    by_id.reserve(ds.images.size());
    for (const ImageInfo& image : ds.images) by_id.emplace(image.id, &image);
    const bool ok2 = runner_.run(second_pass, [&](int t, simdjson::padded_string_view piece_text, const Piece& p) {
      CocoParser& parser = *parsers_[static_cast<std::size_t>(t)];
      parser.parse_piece(piece_text, p.section, p.first, p.count, [&](od::value& v, std::size_t i) {
        bool has_area = false;
        Annotation& ann = ds.annotations[i] = parser.parse_annotation(v, i, has_area);
        if (!has_area || ann.rle) {
          const auto it = by_id.find(ann.image_id);
          parser.complete_annotation(ann, it == by_id.end() ? nullptr : it->second, has_area, nullptr, i);
        }
      });
    });
    if (!ok2) return std::nullopt;
    progress_(text.size(), text.size(), "reading " + name_);
    return ds;
  }

 private:
  static constexpr std::size_t kAhead = 64u << 20;  // json_split's release interval

  MappedJson& mapped_;
  const std::string& name_;
  const Progress& progress_;
  const std::size_t piece_bytes_;
  const Progress no_progress_;
  PieceRunner runner_;
  std::vector<std::unique_ptr<CocoParser>> parsers_;
};

Dataset finish(Dataset ds, const std::string& name, const std::string& image_root) {
  ds.image_root = image_root;
  ds.source = "coco:" + name;
  ds.format = DatasetFormat::Coco;
  ds.index();
  return ds;
}

Dataset parse_json(simdjson::padded_string_view json, const std::string& name, const std::string& image_root,
                   const Progress& progress, MappedJson* mapped) {
  CocoParser parser(name, json, progress, mapped);
  Dataset ds = parser.parse();
  ds.image_root = image_root;
  ds.source = "coco:" + name;
  ds.format = DatasetFormat::Coco;
  ds.index();
  return ds;
}

}  // namespace

Dataset read_coco(const std::string& json_path, const std::string& image_root, const Progress& progress,
                  const ReadOptions& options) {
  MappedJson json(json_path);
  if (options.read_in_pieces) *options.read_in_pieces = false;
  if (json.view().size() >= options.pieces_above) {
    if (auto ds = PieceReader(json, json_path, progress, options).read()) {
      if (options.read_in_pieces) *options.read_in_pieces = true;
      return finish(std::move(*ds), json_path, image_root);
    }
  }
  return parse_json(json.view(), json_path, image_root, progress, &json);
}

Dataset parse_coco(std::string_view json, const std::string& name, const std::string& image_root) {
  const simdjson::padded_string padded(json);
  return parse_json(padded, name, image_root, Progress{}, nullptr);
}

}  // namespace studio
