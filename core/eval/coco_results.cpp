#include "eval/coco_results.h"

#include <rapidjson/writer.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "common/error.h"
#include "data/json_locator.h"
#include "data/json_pieces.h"

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

// Where in the results a value is ("[12].segmentation.counts"), written out only when a message
// needs it: building these strings for every field of every detection cost more than parsing.
struct Path {
  std::size_t index = 0;
  const char* field = nullptr;  // "bbox", "segmentation", ...
  const char* sub = nullptr;    // "size", "counts" (within the field)
  long element = -1;            // [k] after the field or sub-field

  [[nodiscard]] Path in(const char* f) const { return {index, f, nullptr, -1}; }
  [[nodiscard]] Path sub_field(const char* f) const { return {index, field, f, -1}; }
  [[nodiscard]] Path at(long k) const { return {index, field, sub, k}; }
  [[nodiscard]] std::string str() const {
    std::string p = "[" + std::to_string(index) + "]";
    if (field) p += std::string(".") + field;
    if (sub) p += std::string(".") + sub;
    if (element >= 0) p += "[" + std::to_string(element) + "]";
    return p;
  }
};

std::string describe_token(std::string_view token) {
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.remove_suffix(1);
  if (token.size() > 32) return std::string(token.substr(0, 29)) + "...";
  return std::string(token);
}

class ResultsParser : JsonLocator {
 public:
  ResultsParser(simdjson::padded_string_view json, const std::string& name, const Dataset& gt, IouType type)
      : JsonLocator(name, json), gt_(gt), type_(type) {}

  // Parses `text`, an array of the `count` detections from `first` on, into out[first...] (and
  // whether each gave a box into had_bbox).
  void parse_piece(simdjson::padded_string_view text, std::size_t first, std::size_t count,
                   std::vector<Detection>& out, std::vector<char>& had_bbox) {
    json_ = text;
    od::document doc;
    if (auto e = parser_.iterate(text).get(doc)) fail_json(e, "");
    doc_ = &doc;
    od::array array;
    if (auto e = doc.get_array().get(array)) fail_json(e, "");
    std::size_t k = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto e = element_result.get(element)) fail_json(e, Path{first + k}.str());
      if (k == count) break;
      out[first + k] = parse_detection(element, first + k);
      had_bbox[first + k] = last_had_bbox_;
      ++k;
    }
    const bool complete = k == count && location() == nullptr;
    doc_ = nullptr;
    if (!complete) fail(0L, "", "a piece did not hold the detections the pre-pass found");
  }

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
      if (auto e = element_result.get(element)) fail_json(e, Path{index}.str());
      out.push_back(parse_detection(element, index));
      had_bbox.push_back(last_had_bbox_);
      ++index;
    }
    if (const char* trailing = location())
      fail(trailing, "(top level)", "expected the end of the file after the array");
    box_areas(out, had_bbox);
    return out;
  }

  // loadRes picks its branch from the FIRST result alone: when it carries a "bbox" (as
  // detectron2's and mmdetection's segm files do), every detection's area becomes w*h, even in
  // segm evaluation, and that area decides the area-range ignores. Reproduced for exact numbers.
  void box_areas(std::vector<Detection>& out, const std::vector<char>& had_bbox) const {
    if (type_ == IouType::Segm && !out.empty() && had_bbox[0]) {
      for (std::size_t i = 0; i < out.size(); ++i)
        if (had_bbox[i]) out[i].area = out[i].bbox[2] * out[i].bbox[3];
    }
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

  [[noreturn]] void fail_type(error_code e, od::value& v, const char* at, const Path& path,
                              const std::string& expected) {
    // Python's json module writes NaN and Infinity, which are not JSON; name them rather than
    // calling the whole file malformed.
    const std::string_view token = v.raw_json_token();
    for (const char* word : {"NaN", "Infinity", "-Infinity"}) {
      if (token.substr(0, std::strlen(word)) == word)
        fail(at, path.str(), "expected " + expected + ", got " + word);
    }
    if (e != simdjson::INCORRECT_TYPE && e != simdjson::NUMBER_OUT_OF_RANGE && e != simdjson::NUMBER_ERROR)
      fail_json(e, path.str());
    fail(at, path.str(), "expected " + expected + ", got " + describe(v));
  }

  std::int64_t get_int64(od::value& v, const Path& path) {
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

  double get_finite(od::value& v, const Path& path, const char* expected) {
    const char* at = location();
    double d;
    if (auto e = v.get_double().get(d)) fail_type(e, v, at, path, expected);
    if (!std::isfinite(d)) fail(at, path.str(), std::string("expected ") + expected + ", got " + std::to_string(d));
    return d;
  }

  std::array<double, 4> get_bbox(od::value& v, const Path& path) {
    const char* at = location();
    static const std::string expected = "an array of 4 numbers [x, y, width, height]";
    od::array a;
    if (auto e = v.get_array().get(a)) fail_type(e, v, at, path, expected);
    std::array<double, 4> box{};
    std::size_t n = 0;
    for (auto item_result : a) {
      od::value item;
      if (auto e = item_result.get(item)) fail_json(e, path.str());
      if (n >= 4) fail(at, path.str(), expected + ", got more than 4 values");
      box[n] = get_finite(item, path.at(static_cast<long>(n)), "a finite number");
      ++n;
    }
    if (n != 4) fail(at, path.str(), expected + ", got " + std::to_string(n) + " values");
    return box;
  }

  Rle get_segmentation(od::value& v, const Path& path) {
    const char* at = location();
    static const std::string expected = "an RLE object {\"size\": [h, w], \"counts\": ...}";
    od::object obj;
    if (auto e = v.get_object().get(obj)) fail_type(e, v, at, path, expected);
    bool has_size = false, has_counts = false;
    std::int64_t h = 0, w = 0;
    std::string_view counts_string;  // valid while this document is parsed
    std::vector<std::uint32_t> counts;
    bool counts_is_string = true;
    const char* counts_at = at;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, path.str());
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "size") {
        const char* size_at = location();
        od::array a;
        if (auto e = value.get_array().get(a))
          fail_type(e, value, size_at, path.sub_field("size"), "[height, width]");
        std::size_t n = 0;
        for (auto item_result : a) {
          od::value item;
          if (auto e = item_result.get(item)) fail_json(e, path.sub_field("size").str());
          const std::int64_t x = get_int64(item, path.sub_field("size").at(static_cast<long>(n)));
          if (x < 0 || x > std::numeric_limits<std::uint32_t>::max())
            fail(size_at, path.sub_field("size").str(), "expected non-negative sizes, got " + std::to_string(x));
          if (n == 0) h = x;
          if (n == 1) w = x;
          ++n;
        }
        if (n != 2)
          fail(size_at, path.sub_field("size").str(), "expected [height, width], got " + std::to_string(n) + " values");
        has_size = true;
      } else if (key == "counts") {
        counts_at = location();
        od::json_type t;
        if (auto e = value.type().get(t)) fail_json(e, path.sub_field("counts").str());
        if (t == od::json_type::string) {
          if (auto e = value.get_string().get(counts_string)) fail_json(e, path.sub_field("counts").str());
        } else if (t == od::json_type::array) {
          counts_is_string = false;
          od::array a;
          if (auto e = value.get_array().get(a)) fail_json(e, path.sub_field("counts").str());
          for (auto item_result : a) {
            od::value item;
            if (auto e = item_result.get(item)) fail_json(e, path.sub_field("counts").str());
            const std::int64_t c = get_int64(item, path.sub_field("counts"));
            if (c < 0 || c > std::numeric_limits<std::uint32_t>::max())
              fail(counts_at, path.sub_field("counts").str(),
                   "expected non-negative run lengths, got " + std::to_string(c));
            counts.push_back(static_cast<std::uint32_t>(c));
          }
        } else {
          fail_type(simdjson::INCORRECT_TYPE, value, counts_at, path.sub_field("counts"),
                    "a compressed RLE string or an array of run lengths");
        }
        has_counts = true;
      }
    }
    if (!has_size) fail(at, path.str(), "missing required field \"size\" (expected [height, width])");
    if (!has_counts) fail(at, path.str(), "missing required field \"counts\" (expected an RLE string)");
    try {
      const auto uh = static_cast<std::uint32_t>(h), uw = static_cast<std::uint32_t>(w);
      return counts_is_string ? rle_from_string(counts_string, uh, uw)
                              : rle_from_counts(std::move(counts), uh, uw);
    } catch (const Error& e) {
      fail(counts_at, path.sub_field("counts").str(), e.what());
    }
  }

  Detection parse_detection(od::value& item, std::size_t i) {
    const char* start = location();
    od::object obj;
    if (auto e = item.get_object().get(obj)) fail_type(e, item, start, Path{i}, "a detection object");
    Detection d;
    bool has_image = false, has_cat = false, has_score = false, has_bbox = false;
    const char* image_at = start;
    const char* cat_at = start;
    const char* segm_at = start;
    for (auto field_result : obj) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) fail_json(e, Path{i}.str());
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key == "image_id") {
        image_at = location();
        d.image_id = get_int64(value, Path{i}.in("image_id"));
        has_image = true;
      } else if (key == "category_id") {
        cat_at = location();
        d.category_id = get_int64(value, Path{i}.in("category_id"));
        has_cat = true;
      } else if (key == "score") {
        d.score = get_finite(value, Path{i}.in("score"), "a finite number");
        has_score = true;
      } else if (key == "bbox") {
        d.bbox = get_bbox(value, Path{i}.in("bbox"));
        has_bbox = true;
      } else if (key == "segmentation" && type_ == IouType::Segm) {
        segm_at = location();
        d.segm = get_segmentation(value, Path{i}.in("segmentation"));
      }
    }
    auto missing = [&](const char* field, const char* expected) {
      fail(start, Path{i}.str(),
           std::string("missing required field \"") + field + "\" (expected " + expected + ")");
    };
    if (!has_image) missing("image_id", "an integer");
    if (!has_cat) missing("category_id", "an integer");
    if (!has_score) missing("score", "a number");
    if (type_ == IouType::Bbox && !has_bbox) missing("bbox", "[x, y, width, height]");
    if (type_ == IouType::Segm && !d.segm) missing("segmentation", "an RLE object for segm results");

    const ImageInfo* image = gt_.image_by_id(d.image_id);
    if (image == nullptr)
      fail(image_at, Path{i}.in("image_id").str(),
           "unknown image id " + std::to_string(d.image_id) + " (expected an image id of the ground truth)");
    if (gt_.category_by_id(d.category_id) == nullptr)
      fail(cat_at, Path{i}.in("category_id").str(),
           "unknown category id " + std::to_string(d.category_id) +
               " (expected a category id of the ground truth)");
    if (d.segm) {
      // Images of unknown size (a TXT list with unreadable images) can't be checked.
      if (image->width > 0 && image->height > 0 &&
          (d.segm->h != static_cast<std::uint32_t>(image->height) ||
           d.segm->w != static_cast<std::uint32_t>(image->width)))
        fail(segm_at, Path{i}.in("segmentation").sub_field("size").str(),
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

// Big files are parsed in pieces on every core (json_pieces.h); anything out of the ordinary
// sends them to the one walk, whose messages name the problem.
std::optional<std::vector<Detection>> read_in_pieces(MappedJson& json, const std::string& path, const Dataset& gt,
                                                     IouType type, const ReadOptions& options) {
  const std::string_view text(json.view().data(), json.view().size());
  const auto spans = split_array(text, [&](std::size_t at) { json.release_before(text.data() + at); });
  if (!spans) return std::nullopt;
  std::vector<Piece> pieces;
  add_pieces("", *spans, options.piece_bytes, pieces);
  const Progress no_progress;
  PieceRunner runner(json, options.threads, no_progress, "");
  std::vector<std::unique_ptr<ResultsParser>> parsers;
  for (int t = 0; t < runner.threads(); ++t)
    parsers.push_back(std::make_unique<ResultsParser>(simdjson::padded_string_view(), path, gt, type));
  std::vector<Detection> out;
  presize(out, spans->size());
  std::vector<char> had_bbox(spans->size());
  const bool ok = runner.run(pieces, [&](int t, simdjson::padded_string_view piece_text, const Piece& p) {
    parsers[static_cast<std::size_t>(t)]->parse_piece(piece_text, p.first, p.count, out, had_bbox);
  });
  if (!ok) return std::nullopt;
  parsers[0]->box_areas(out, had_bbox);
  return out;
}

}  // namespace

std::vector<Detection> parse_coco_results(std::string_view json, const std::string& name, const Dataset& gt,
                                          IouType type) {
  const simdjson::padded_string padded(json);
  return ResultsParser(padded, name, gt, type).parse();
}

std::vector<Detection> read_coco_results(const std::string& path, const Dataset& gt, IouType type,
                                         const ReadOptions& options) {
  MappedJson json(path);
  if (options.read_in_pieces) *options.read_in_pieces = false;
  if (json.view().size() >= options.pieces_above) {
    if (auto out = read_in_pieces(json, path, gt, type, options)) {
      if (options.read_in_pieces) *options.read_in_pieces = true;
      return std::move(*out);
    }
  }
  return ResultsParser(json.view(), path, gt, type).parse();
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
