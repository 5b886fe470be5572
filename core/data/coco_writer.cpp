#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/coco_io.h"

// COCO JSON writing (the reading half of coco_io.h is in coco_io.cpp): RapidJSON's streaming
// Writer into one std::string. Its double printing (Grisu2) gives digits that read back to the
// identical double, so COCO -> COCO keeps every number exactly.

namespace studio {
namespace {

// RapidJSON output stream filling a std::string that grows in large steps; PutReserve/PutUnsafe
// (found by argument-dependent lookup) let the Writer skip the capacity check per character.
struct StringSink {
  using Ch = char;
  std::string out;
  std::size_t len = 0;

  void reserve_more(std::size_t n) {
    if (len + n > out.size()) out.resize(std::max(out.size() * 2, len + n + 4096));
  }
  void Put(char c) {
    reserve_more(1);
    out[len++] = c;
  }
  void Flush() {}
  std::string finish() {
    out.resize(len);
    return std::move(out);
  }
};
inline void PutReserve(StringSink& s, std::size_t n) { s.reserve_more(n); }
inline void PutUnsafe(StringSink& s, char c) { s.out[s.len++] = c; }

using JsonWriter = rapidjson::Writer<StringSink>;

// Appends the digits of 0 <= v as text.
char* put_digits(char* p, std::uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

// Shortest text that reads back as exactly `d`. Most COCO numbers have at most two decimals
// (pixel coordinates as annotators saved them): those are printed from the integer k = 100 d,
// which is exact because a correctly rounding reader turns "k/100" written in decimal into the
// double nearest k/100, and that is fl(k / 100.0) == d, checked here. Others use std::to_chars.
std::size_t format_double(double d, char* buf) {
  constexpr double kFastLimit = 1e13;  // k stays far below 2^53
  if (std::fabs(d) < kFastLimit) {
    const double scaled = std::nearbyint(d * 100);
    if (scaled / 100.0 == d) {
      char* p = buf;
      if (std::signbit(d)) *p++ = '-';  // also keeps -0.0
      const auto k = static_cast<std::uint64_t>(std::fabs(scaled));
      p = put_digits(p, k / 100);
      *p++ = '.';
      const auto frac = static_cast<unsigned>(k % 100);
      *p++ = static_cast<char>('0' + frac / 10);
      if (frac % 10 != 0) *p++ = static_cast<char>('0' + frac % 10);
      return static_cast<std::size_t>(p - buf);
    }
  }
  const auto result = std::to_chars(buf, buf + 32, d);
  return static_cast<std::size_t>(result.ptr - buf);
}

void write_double(JsonWriter& w, double d, const Annotation& ann, const char* field) {
  if (!std::isfinite(d))
    throw Error("annotation " + std::to_string(ann.id) + ": " + field + " is " + std::to_string(d) +
                ", which JSON cannot hold");
  char buf[40];
  const std::size_t n = format_double(d, buf);
  w.RawValue(buf, n, rapidjson::kNumberType);
}

void write_key(JsonWriter& w, const char* key) {
  w.Key(key, static_cast<rapidjson::SizeType>(std::strlen(key)));
}

void write_string(JsonWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_annotation(JsonWriter& w, const Annotation& ann) {
  w.StartObject();
  write_key(w, "id");
  w.Int64(ann.id);
  write_key(w, "image_id");
  w.Int64(ann.image_id);
  write_key(w, "category_id");
  w.Int64(ann.category_id);
  write_key(w, "bbox");
  w.StartArray();
  for (double d : ann.bbox) write_double(w, d, ann, "bbox");
  w.EndArray();
  write_key(w, "area");
  write_double(w, ann.area, ann, "area");
  write_key(w, "iscrowd");
  w.Int(ann.iscrowd ? 1 : 0);
  // COCO has one segmentation per annotation: polygons when there are any, else the RLE.
  if (!ann.polygons.empty()) {
    write_key(w, "segmentation");
    w.StartArray();
    for (const auto& poly : ann.polygons) {
      w.StartArray();
      for (double d : poly) write_double(w, d, ann, "a polygon coordinate");
      w.EndArray();
    }
    w.EndArray();
  } else if (ann.rle) {
    write_key(w, "segmentation");
    w.StartObject();
    write_key(w, "size");
    w.StartArray();
    w.Uint(ann.rle->h);
    w.Uint(ann.rle->w);
    w.EndArray();
    write_key(w, "counts");
    if (ann.iscrowd) {  // COCO's crowd regions keep their runs uncompressed
      w.StartArray();
      for (std::uint32_t c : ann.rle->counts) w.Uint(c);
      w.EndArray();
    } else {
      write_string(w, rle_to_string(*ann.rle));
    }
    w.EndObject();
  }
  // VOC flags, so a VOC -> COCO -> reader trip keeps them; written only when set.
  if (ann.difficult) {
    write_key(w, "difficult");
    w.Int(1);
  }
  if (ann.truncated) {
    write_key(w, "truncated");
    w.Int(1);
  }
  w.EndObject();
}

}  // namespace

std::string to_coco_json(const Dataset& dataset) {
  std::string out;
  // Polygon-heavy files take roughly 450 bytes an annotation; one upfront guess saves copies.
  StringSink sink;
  sink.out.resize(256 + dataset.images.size() * 96 + dataset.categories.size() * 64 +
                  dataset.annotations.size() * 480);
  JsonWriter w(sink);
  w.StartObject();
  write_key(w, "images");
  w.StartArray();
  for (const ImageInfo& image : dataset.images) {
    w.StartObject();
    write_key(w, "id");
    w.Int64(image.id);
    write_key(w, "file_name");
    write_string(w, image.file_name);
    write_key(w, "width");
    w.Int(image.width);
    write_key(w, "height");
    w.Int(image.height);
    w.EndObject();
  }
  w.EndArray();
  write_key(w, "categories");
  w.StartArray();
  for (const Category& cat : dataset.categories) {
    w.StartObject();
    write_key(w, "id");
    w.Int64(cat.id);
    write_key(w, "name");
    write_string(w, cat.name);
    write_key(w, "supercategory");
    write_string(w, cat.supercategory);
    w.EndObject();
  }
  w.EndArray();
  write_key(w, "annotations");
  w.StartArray();
  for (const Annotation& ann : dataset.annotations) write_annotation(w, ann);
  w.EndArray();
  w.EndObject();
  sink.Put('\n');
  return sink.finish();
}

void write_coco(const Dataset& dataset, const std::string& json_path) {
  write_file_atomic(json_path, to_coco_json(dataset));
}

}  // namespace studio
