#include "data/txt_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string_view>

#include "common/atomic_file.h"
#include "common/error.h"
#include "data/class_names.h"
#include "data/image_io.h"

namespace studio {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits a text into lines (LF or CRLF), keeping their 1-based numbers implicit in the order.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    lines.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return lines;
}

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Without a names file the classes are 0..(highest index used), all made up: one stray digit must
// not make billions of them (a names file lists its classes, so its length is the limit there).
constexpr std::int64_t kMaxUnnamedClasses = 100000;

std::optional<std::int64_t> parse_index(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

Dataset read_txt(const std::string& list_path, const std::string& image_root, const std::string& names_path,
                 const Progress& progress) {
  const std::vector<std::string> names =
      names_path.empty() ? std::vector<std::string>{} : read_class_names(names_path);
  const std::string text = read_file(list_path);
  const std::vector<std::string_view> lines = split_lines(text);

  Dataset ds;
  ds.format = DatasetFormat::Txt;
  ds.image_root = image_root;
  ds.source = "txt:" + list_path;

  // Parse everything first: a malformed line is reported before the (slower) image probing.
  std::int64_t max_class = -1;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const long line_no = static_cast<long>(i + 1);
    const std::string_view line = trim(lines[i]);
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string_view> tokens = split_whitespace(line);
    ImageInfo image;
    image.id = static_cast<std::int64_t>(ds.images.size() + 1);
    image.file_name = std::string(tokens[0]);
    image.source_file = list_path;
    image.source_line = line_no;
    for (std::size_t t = 1; t < tokens.size(); ++t) {
      const std::string_view token = tokens[t];
      // Token numbers count from 1 with the image path as token 1, as a person counts columns.
      const std::string label = "token " + std::to_string(t + 1) + " '" + std::string(token) + "'";
      std::vector<std::string_view> fields;
      std::size_t start = 0;
      for (;;) {
        const std::size_t comma = token.find(',', start);
        fields.push_back(token.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      if (fields.size() != 5) fail_at(list_path, line_no, label + ": expected x1,y1,x2,y2,cls");
      double xy[4];
      for (int k = 0; k < 4; ++k) {
        const auto v = parse_number(fields[static_cast<std::size_t>(k)]);
        if (!v) fail_at(list_path, line_no, label + ": expected x1,y1,x2,y2,cls with numeric corners");
        xy[k] = *v;
      }
      const auto cls = parse_index(fields[4]);
      if (!cls) fail_at(list_path, line_no, label + ": expected x1,y1,x2,y2,cls with cls a class index 0, 1, 2, ...");
      if (!names.empty() && *cls >= static_cast<std::int64_t>(names.size()))
        fail_at(list_path, line_no,
                label + ": class " + std::to_string(*cls) + " is beyond the names file " + names_path + " (" +
                    std::to_string(names.size()) + " names: classes 0.." + std::to_string(names.size() - 1) + ")");
      if (names.empty() && *cls >= kMaxUnnamedClasses)
        fail_at(list_path, line_no,
                label + ": class " + std::to_string(*cls) +
                    " without a names file, which would make classes 0.." + std::to_string(*cls) +
                    "; a list without one may use classes 0.." + std::to_string(kMaxUnnamedClasses - 1) +
                    " (give a names file for more)");
      if (xy[2] < xy[0] || xy[3] < xy[1])
        fail_at(list_path, line_no, label + ": x2,y2 must not be less than x1,y1");
      Annotation a;
      a.image_id = image.id;
      a.category_id = *cls + 1;
      a.bbox = {xy[0], xy[1], xy[2] - xy[0], xy[3] - xy[1]};
      a.area = a.bbox[2] * a.bbox[3];
      a.source_line = line_no;
      a.id = static_cast<std::int64_t>(ds.annotations.size() + 1);
      ds.annotations.push_back(a);
      max_class = std::max(max_class, *cls);
    }
    ds.images.push_back(std::move(image));
  }

  if (!names.empty()) {
    for (std::size_t k = 0; k < names.size(); ++k) ds.categories.push_back({static_cast<std::int64_t>(k + 1), names[k], ""});
  } else {
    // Without names the classes are those up to the highest index used, so indices stay contiguous.
    for (std::int64_t k = 0; k <= max_class; ++k) ds.categories.push_back({k + 1, "class_" + std::to_string(k), ""});
  }

  // Sizes from the file headers: reading headers only keeps this fast on large lists; a missing
  // or unreadable image keeps 0 x 0 for the checker to report.
  const std::string stage = "reading image sizes";
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    progress.check_cancel();
    if (i % 64 == 0) progress(i, ds.images.size(), stage);
    ImageInfo& image = ds.images[i];
    if (const auto size = probe_image_size(ds.image_path(image))) {
      image.width = size->width;
      image.height = size->height;
    }
  }
  progress(ds.images.size(), ds.images.size(), stage);
  ds.index();
  return ds;
}

}  // namespace studio
