#include "eval/coco_results.h"

#include <rapidjson/writer.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "data/json_locator.h"

// COCO results files, read the way pycocotools' COCO.loadRes reads them (bbox results get
// area = w*h; segm results get their box and area from the mask), but validated up front with
// messages that name the file, the line and "[i].field": a results file written by someone
// else's script is the most common reason an evaluation goes wrong, and loadRes' bare asserts
// don't say which detection is at fault.

namespace studio {

const char* iou_type_name(IouType t) { return t == IouType::Bbox ? "bbox" : "segm"; }

IouType parse_iou_type(const std::string& s) {
  if (s == "bbox") return IouType::Bbox;
  if (s == "segm") return IouType::Segm;
  throw Error("unknown evaluation type \"" + s + "\" (allowed: bbox, segm)");
}

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

std::string element_path(std::size_t index, std::string_view field = {}) {
  std::string p = "[" + std::to_string(index) + "]";
  if (!field.empty()) {
    p += '.';
    p += field;
  }
  return p;
}

std::string describe_token(std::string_view token) {
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.remove_suffix(1);
  if (token.size() > 32) return std::string(token.substr(0, 29)) + "...";
  return std::string(token);
}

class ResultsParser : JsonLocator {
 public:
  ResultsParser(simdjson::padded_string_view json, const std::string& name, const Dataset& gt, IouType type)
      : JsonLocator(name, json), gt_(gt), type_(type) {}

  std::vector<Detection> parse() {
    od::document doc;
    if (auto e = parser_.iterate(json_).get(doc)) fail_json(e, "");
    doc_ = &doc;
    od::array array;
    if (auto e = doc.get_array().get(array)) {
      if (e != simdjson::INCORRECT_TYPE) fail_json(e, "");
      fail(location(), "(top level)",
           "expected an array of detections ([{\"image_id\", \"category_id\", ...}, ...]), got " +
               describe_document(doc));
    }
    std::vector<Detection> out;
    std::vector<char> had_bbox;
    std::size_t index = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto e = element_result.get(element)) fail_json(e, element_path(index));
      out.push_back(parse_detection(element, index));
      had_bbox.push_back(last_had_bbox_);
      ++index;
    }
    // loadRes picks its branch from the FIRST result alone: when it carries a "bbox" (as
    // detectron2's and mmdetection's segm files do), every detection's area becomes w*h, even in
    // segm evaluation, and that area decides the area-range ignores. Reproduced for exact numbers.
    if (type_ == IouType::Segm && !out.empty() && had_bbox[0]) {
      for (std::size_t i = 0; i < out.size(); ++i)
        if (had_bbox[i]) out[i].area = out[i].bbox[2] * out[i].bbox[3];
    }
    if (const char* trailing = location())
      fail(trailing, "(top level)", "expected the end of the file after the array");
    return out;
  }

 private:
  static std::string describe_document(od::document& d) {
    od::json_type type;
    if (d.type().get(type)) return kUnreadable;
    switch (type) {
      case od::json_type::object:
        return "an object (a ground-truth annotation file?)";
      case od::json_type::array:
        return "an array";
      default:
        return "a single value";
    }
  }

  static std::string describe(od::value& v) {
    od::json_type type;
    if (v.type().get(type)) return kUnreadable;
    const std::string_view token = v.raw_json_token();
    switch (type) {
      case od::json_type::array:
        return "an array";
      case od::json_type::object:
        return "an object";
      case od::json_type::string:
        return "a string " + describe_token(token);
      case od::json_type::null:
        return "null";
      default:
        return describe_token(token);
    }
  }

  [[noreturn]] void fail_type(error_code e, od::value& v, const char* at, const std::string& path,
                              const std::string& expected) {
    // Python's json module writes NaN and Infinity, which are not JSON; name them rather than
    // calling the whole file malformed.
    const std::string_view token = v.raw_json_token();
    for (const char* word : {"NaN", "Infinity", "-Infinity"}) {
      if (token.substr(0, std::strlen(word)) == word)
        fail(at, path, "expected " + expected + ", got " + word);
    }
    if (e != simdjson::INCORRECT_TYPE && e != simdjson::NUMBER_OUT_OF_RANGE && e != simdjson::NUMBER_ERROR)
      fail_json(e, path);
    fail(at, path, "expected " + expected + ", got " + describe(v));
  }

  std::int64_t get_int64(od::value& v, const std::string& path) {
    const char* at = location();
    std::int64_t i;
    if (auto e = v.get_int64().get(i)) {
      // Some writers print integral ids as 42.0; accept those as pycocotools does.
      double d;
      if (!v.get_double().get(d) && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
        return static_cast<std::int64_t>(d);
      fail_type(e, v, at, path, "an integer");
    }
    return i;
  }

  double get_finite(od::value& v, const std::string& path, const char* expected) {
    const char* at = location();
    double d;
    if (auto e = v.get_double().get(d)) fail_type(e, v, at, path, expected);
    if (!std::isfinite(d)) fail(at, path, std::string("expected ") + expected + ", got " + std::to_string(d));
    return d;
  }

  std::array<double, 4> get_bbox(od::value& v, const std::string& path) {
    const char* at = location();
    const std::string expected = "an array of 4 numbers [x, y, width, height]";
    od::array a;
    if (auto e = v.get_array().get(a)) fail_type(e, v, at, path, expected);
    std::array<double, 4> box{};
    std::size_t n = 0;
    for (auto item_result : a) {
      od::value item;
      if (auto e = item_result.get(item)) fail_json(e, path);
      if (n >= 4) fail(at, path, expected + ", got more than 4 values");
      box[n] = get_finite(item, path + "[" + std::to_string(n) + "]", "a finite number");
      ++n;
    }
    if (n != 4) fail(at, path, expected + ", got " + std::to_string(n) + " values");
    return box;
  }

  Rle get_segmentation(od::value& v, const std::string& path) {
    const char* at = location();
    const std::string expected = "an RLE object {\"size\": [h, w], \"counts\": ...}";
    od::object obj;
    if (auto e = v.get_object().get(obj)) fail_type(e, v, at, path, expected);
    bool has_size = false, has_counts = false;
    std::int64_t h = 0, w = 0;
    std::string counts_string;
    std::vector<std::uint32_t> counts;
    bool counts_is_string = true;
    const char* counts_at = at;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, path);
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "size") {
        const char* size_at = location();
        od::array a;
        if (auto e = value.get_array().get(a))
          fail_type(e, value, size_at, path + ".size", "[height, width]");
        std::size_t n = 0;
        for (auto item_result : a) {
          od::value item;
          if (auto e = item_result.get(item)) fail_json(e, path + ".size");
          const std::int64_t x = get_int64(item, path + ".size[" + std::to_string(n) + "]");
          if (x < 0 || x > std::numeric_limits<std::uint32_t>::max())
            fail(size_at, path + ".size", "expected non-negative sizes, got " + std::to_string(x));
          if (n == 0) h = x;
          if (n == 1) w = x;
          ++n;
        }
        if (n != 2)
          fail(size_at, path + ".size", "expected [height, width], got " + std::to_string(n) + " values");
        has_size = true;
      } else if (key == "counts") {
        counts_at = location();
        od::json_type t;
        if (auto e = value.type().get(t)) fail_json(e, path + ".counts");
        if (t == od::json_type::string) {
          std::string_view s;
          if (auto e = value.get_string().get(s)) fail_json(e, path + ".counts");
          counts_string = std::string(s);
        } else if (t == od::json_type::array) {
          counts_is_string = false;
          od::array a;
          if (auto e = value.get_array().get(a)) fail_json(e, path + ".counts");
          for (auto item_result : a) {
            od::value item;
            if (auto e = item_result.get(item)) fail_json(e, path + ".counts");
            const std::int64_t c = get_int64(item, path + ".counts");
            if (c < 0 || c > std::numeric_limits<std::uint32_t>::max())
              fail(counts_at, path + ".counts",
                   "expected non-negative run lengths, got " + std::to_string(c));
            counts.push_back(static_cast<std::uint32_t>(c));
          }
        } else {
          fail_type(simdjson::INCORRECT_TYPE, value, counts_at, path + ".counts",
                    "a compressed RLE string or an array of run lengths");
        }
        has_counts = true;
      }
    }
    if (!has_size) fail(at, path, "missing required field \"size\" (expected [height, width])");
    if (!has_counts) fail(at, path, "missing required field \"counts\" (expected an RLE string)");
    try {
      const auto uh = static_cast<std::uint32_t>(h), uw = static_cast<std::uint32_t>(w);
      return counts_is_string ? rle_from_string(counts_string, uh, uw)
                              : rle_from_counts(std::move(counts), uh, uw);
    } catch (const Error& e) {
      fail(counts_at, path + ".counts", e.what());
    }
  }

  Detection parse_detection(od::value& item, std::size_t i) {
    const char* start = location();
    od::object obj;
    if (auto e = item.get_object().get(obj)) fail_type(e, item, start, element_path(i), "a detection object");
    Detection d;
    bool has_image = false, has_cat = false, has_score = false, has_bbox = false;
    const char* image_at = start;
    const char* cat_at = start;
    const char* segm_at = start;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, element_path(i));
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "image_id") {
        image_at = location();
        d.image_id = get_int64(value, element_path(i, "image_id"));
        has_image = true;
      } else if (key == "category_id") {
        cat_at = location();
        d.category_id = get_int64(value, element_path(i, "category_id"));
        has_cat = true;
      } else if (key == "score") {
        d.score = get_finite(value, element_path(i, "score"), "a finite number");
        has_score = true;
      } else if (key == "bbox") {
        d.bbox = get_bbox(value, element_path(i, "bbox"));
        has_bbox = true;
      } else if (key == "segmentation" && type_ == IouType::Segm) {
        segm_at = location();
        d.segm = get_segmentation(value, element_path(i, "segmentation"));
      }
    }
    auto missing = [&](const char* field, const char* expected) {
      fail(start, element_path(i),
           std::string("missing required field \"") + field + "\" (expected " + expected + ")");
    };
    if (!has_image) missing("image_id", "an integer");
    if (!has_cat) missing("category_id", "an integer");
    if (!has_score) missing("score", "a number");
    if (type_ == IouType::Bbox && !has_bbox) missing("bbox", "[x, y, width, height]");
    if (type_ == IouType::Segm && !d.segm) missing("segmentation", "an RLE object for segm results");

    const ImageInfo* image = gt_.image_by_id(d.image_id);
    if (image == nullptr)
      fail(image_at, element_path(i, "image_id"),
           "unknown image id " + std::to_string(d.image_id) + " (expected an image id of the ground truth)");
    if (gt_.category_by_id(d.category_id) == nullptr)
      fail(cat_at, element_path(i, "category_id"),
           "unknown category id " + std::to_string(d.category_id) +
               " (expected a category id of the ground truth)");
    if (d.segm) {
      // Images of unknown size (a TXT list with unreadable images) can't be checked.
      if (image->width > 0 && image->height > 0 &&
          (d.segm->h != static_cast<std::uint32_t>(image->height) ||
           d.segm->w != static_cast<std::uint32_t>(image->width)))
        fail(segm_at, element_path(i, "segmentation.size"),
             "expected the image's size [" + std::to_string(image->height) + ", " +
                 std::to_string(image->width) + "] (height, width), got [" + std::to_string(d.segm->h) +
                 ", " + std::to_string(d.segm->w) + "]");
      if (!has_bbox) d.bbox = rle_bbox(*d.segm);  // loadRes keeps a given box
      d.area = static_cast<double>(rle_area(*d.segm));
    } else {
      d.area = d.bbox[2] * d.bbox[3];
    }
    last_had_bbox_ = has_bbox;
    return d;
  }

  bool last_had_bbox_ = false;
  const Dataset& gt_;
  IouType type_;
  od::parser parser_;
};

// RapidJSON output into a std::string.
struct StringSink {
  using Ch = char;
  std::string out;
  void Put(char c) { out.push_back(c); }
  void Flush() {}
};

}  // namespace

std::vector<Detection> parse_coco_results(std::string_view json, const std::string& name, const Dataset& gt,
                                          IouType type) {
  const simdjson::padded_string padded(json);
  return ResultsParser(padded, name, gt, type).parse();
}

std::vector<Detection> read_coco_results(const std::string& path, const Dataset& gt, IouType type) {
  simdjson::padded_string json;
  if (auto e = simdjson::padded_string::load(path).get(json))
    throw Error(path + ": cannot read the file (" + simdjson::error_message(e) + ")");
  return ResultsParser(json, path, gt, type).parse();
}

std::string to_coco_results_json(const std::vector<Detection>& detections) {
  StringSink sink;
  sink.out.reserve(detections.size() * 96 + 2);
  rapidjson::Writer<StringSink> w(sink);
  // Writer::Double prints digits that read back to the same double (Grisu2), so a results file
  // written here evaluates to exactly the numbers it was made from.
  auto number = [&](double d, std::size_t i, const char* field) {
    if (!std::isfinite(d))
      throw Error("detection " + std::to_string(i) + ": " + field + " is " + std::to_string(d) +
                  ", which JSON cannot hold");
    w.Double(d);
  };
  w.StartArray();
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    w.StartObject();
    w.Key("image_id");
    w.Int64(d.image_id);
    w.Key("category_id");
    w.Int64(d.category_id);
    w.Key("bbox");
    w.StartArray();
    for (double x : d.bbox) number(x, i, "bbox");
    w.EndArray();
    w.Key("score");
    number(d.score, i, "score");
    if (d.segm) {
      w.Key("segmentation");
      w.StartObject();
      w.Key("size");
      w.StartArray();
      w.Uint(d.segm->h);
      w.Uint(d.segm->w);
      w.EndArray();
      w.Key("counts");
      const std::string counts = rle_to_string(*d.segm);
      w.String(counts.data(), static_cast<rapidjson::SizeType>(counts.size()));
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  return std::move(sink.out);
}

}  // namespace studio
