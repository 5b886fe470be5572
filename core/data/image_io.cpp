#include "data/image_io.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"

namespace studio {

namespace {

std::uint32_t be16(const unsigned char* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::int32_t le32(const unsigned char* p) {
  return std::int32_t(std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
                      (std::uint32_t(p[3]) << 24));
}

// Walks JPEG markers up to the first start-of-frame, which holds the size.
std::optional<ImageSize> jpeg_size(std::ifstream& in) {
  unsigned char b[8];
  for (;;) {
    int c = in.get();
    while (c != EOF && c != 0xFF) c = in.get();
    while (c == 0xFF) c = in.get();
    if (c == EOF) return std::nullopt;
    const int marker = c;
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    // Start of scan or end of image before any frame header: no size to find, and scanning on
    // would read entropy-coded data as markers.
    if (marker == 0xDA || marker == 0xD9 || marker == 0x00) return std::nullopt;
    if (!in.read(reinterpret_cast<char*>(b), 2)) return std::nullopt;
    const std::uint32_t len = be16(b);
    if (len < 2) return std::nullopt;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (!in.read(reinterpret_cast<char*>(b), 5)) return std::nullopt;
      ImageSize s{static_cast<int>(be16(b + 3)), static_cast<int>(be16(b + 1))};
      if (s.width <= 0 || s.height <= 0) return std::nullopt;
      return s;
    }
    in.seekg(len - 2, std::ios::cur);
    if (!in) return std::nullopt;
  }
}

}  // namespace

std::optional<ImageSize> probe_image_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::array<unsigned char, 26> h{};
  in.read(reinterpret_cast<char*>(h.data()), h.size());
  const auto got = in.gcount();
  if (got >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) {
    in.clear();
    in.seekg(2);
    return jpeg_size(in);
  }
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (got >= 24 && std::equal(kPng, kPng + 8, h.begin()) && std::equal(h.begin() + 12, h.begin() + 16, "IHDR")) {
    ImageSize s{static_cast<int>(be32(&h[16])), static_cast<int>(be32(&h[20]))};
    if (s.width > 0 && s.height > 0) return s;
    return std::nullopt;
  }
  if (got >= 26 && h[0] == 'B' && h[1] == 'M') {
    // The DIB header size (offset 14) tells the layouts apart: OS/2's 12-byte BITMAPCOREHEADER
    // has 16-bit width/height; every later one (40, 108, 124 bytes) has 32-bit signed ones,
    // with a negative height meaning top-down rows.
    const std::int32_t dib = le32(&h[14]);
    if (dib == 12) {
      const int w = static_cast<int>(h[18] | (h[19] << 8));
      const int hh = static_cast<int>(h[20] | (h[21] << 8));
      if (w > 0 && hh > 0) return ImageSize{w, hh};
      return std::nullopt;
    }
    if (dib < 40) return std::nullopt;
    const std::int32_t w = le32(&h[18]);
    const std::int32_t hh = le32(&h[22]);
    if (w > 0 && hh != 0 && hh != INT32_MIN) return ImageSize{w, hh < 0 ? -hh : hh};
  }
  return std::nullopt;
}

std::optional<ImageSize> decode_image_size(const std::string& path, std::string* error) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) {
    if (error) *error = "cannot open";
    return std::nullopt;
  }
  probe.close();
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception&) {
    img.release();
  }
  if (img.empty()) {
    if (error) *error = "not a decodable image";
    return std::nullopt;
  }
  return ImageSize{img.cols, img.rows};
}

std::vector<std::uint8_t> read_index_png(const std::string& path, int* width, int* height) {
  if (!std::filesystem::is_regular_file(path)) throw Error(path + ": mask PNG not found");
  cv::Mat img;
  try {
    // OpenCV expands palette PNGs to colour; only true 8-bit grey files come back as indices.
    img = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot decode PNG (" + e.what() + ")");
  }
  if (img.empty()) throw Error(path + ": missing or not a decodable PNG");
  if (img.depth() != CV_8U) throw Error(path + ": expected an 8-bit mask PNG");
  *width = img.cols;
  *height = img.rows;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(img.rows) * img.cols);
  if (img.channels() == 1) {
    for (int y = 0; y < img.rows; ++y) std::copy_n(img.ptr<std::uint8_t>(y), img.cols, &out[std::size_t(y) * img.cols]);
    return out;
  }
  // Palette PNGs arrive as BGR: map each colour back to its index in VOC's standard palette
  // (index i spreads its bits over R, G, B from the high bit down; 0 is black, 255 the "void"
  // border colour 224,224,192), which recovers the instance numbers VOC stored.
  auto voc_colour = [](int i) {
    int r = 0, g = 0, b = 0;
    for (int j = 0; j < 8; ++j) {
      r |= ((i >> 0) & 1) << (7 - j);
      g |= ((i >> 1) & 1) << (7 - j);
      b |= ((i >> 2) & 1) << (7 - j);
      i >>= 3;
    }
    return (r << 16) | (g << 8) | b;
  };
  std::unordered_map<int, int> palette;
  for (int i = 0; i < 256; ++i) palette.emplace(voc_colour(i), i);
  const int channels = img.channels();
  for (int y = 0; y < img.rows; ++y) {
    const std::uint8_t* row = img.ptr<std::uint8_t>(y);
    for (int x = 0; x < img.cols; ++x) {
      const std::uint8_t* px = row + x * channels;
      const int rgb = (px[2] << 16) | (px[1] << 8) | px[0];
      auto it = palette.find(rgb);
      if (it == palette.end()) throw Error(path + ": pixel (" + std::to_string(x) + "," + std::to_string(y) +
                                 ") has a colour outside the VOC palette");
      out[std::size_t(y) * img.cols + x] = static_cast<std::uint8_t>(it->second);
    }
  }
  return out;
}

void write_rgb_image(const std::string& path, const std::uint8_t* rgb, int width, int height, int jpeg_quality) {
  cv::Mat bgr(height, width, CV_8UC3);
  cv::Mat src(height, width, CV_8UC3, const_cast<std::uint8_t*>(rgb));
  cv::cvtColor(src, bgr, cv::COLOR_RGB2BGR);
  std::vector<int> params;
  // OpenCV picks the format from the extension; we only add the JPEG quality for JPEG files.
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
  bool ok = false;
  try {
    ok = cv::imwrite(path, bgr, params);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot write image (" + e.what() + ")");
  }
  if (!ok) throw Error(path + ": cannot write image");
}

}  // namespace studio
