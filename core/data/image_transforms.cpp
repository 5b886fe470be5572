#include "data/image_transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "data/rle.h"

namespace studio {

namespace {

// imread as BGR (3 channels, 8 bits; grey and 16-bit files converted), or Error naming the file.
cv::Mat read_bgr(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw Error(path + ": cannot open");
  }
  cv::Mat img;
  try {
    img = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    img.release();
  }
  if (img.empty()) throw Error(path + ": not a decodable image");
  return img;
}

// Converts BGR to RGB straight into the RgbImage's buffer (one pass, no extra copy).
RgbImage to_rgb(const cv::Mat& bgr) {
  RgbImage out;
  out.width = bgr.cols;
  out.height = bgr.rows;
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  cv::Mat dst(out.height, out.width, CV_8UC3, out.pixels.data());
  cv::cvtColor(bgr, dst, cv::COLOR_BGR2RGB);
  return out;
}

void flip_rows(std::uint8_t* data, int width, int height, std::size_t stride) {
  for (int y = 0; y < height; ++y) std::reverse(data + y * stride, data + y * stride + width);
}

}  // namespace

RgbImage read_rgb_image(const std::string& path) { return to_rgb(read_bgr(path)); }

ImageSize rescale_size(ImageSize original, int short_side, int long_side) {
  const int w = original.width, h = original.height;
  if (w <= 0 || h <= 0) return original;
  // Doubles, as Python's floats in mmcv; int(x + 0.5) rounds half up for positive sizes.
  const double f = std::min(double(long_side) / std::max(h, w), double(short_side) / std::min(h, w));
  ImageSize out;
  out.width = std::max(1, static_cast<int>(w * f + 0.5));
  out.height = std::max(1, static_cast<int>(h * f + 0.5));
  return out;
}

RgbImage resize_image(const RgbImage& image, ImageSize size) {
  if (size.width == image.width && size.height == image.height) return image;
  RgbImage out;
  out.width = size.width;
  out.height = size.height;
  out.pixels.resize(static_cast<std::size_t>(size.width) * size.height * 3);
  const cv::Mat src(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat dst(size.height, size.width, CV_8UC3, out.pixels.data());
  cv::resize(src, dst, cv::Size(size.width, size.height), 0, 0, cv::INTER_LINEAR);
  return out;
}

void flip_image(RgbImage& image) {
  cv::Mat m(image.height, image.width, CV_8UC3, image.pixels.data());
  cv::flip(m.clone(), m, 1);
}

RgbImage load_resized_image(const std::string& path, int short_side, int long_side, bool flip,
                            ImageSize* original) {
  cv::Mat img = read_bgr(path);
  const ImageSize from{img.cols, img.rows};
  if (original) *original = from;
  const ImageSize to = rescale_size(from, short_side, long_side);
  if (to.width != from.width || to.height != from.height) {
    cv::Mat resized;
    cv::resize(img, resized, cv::Size(to.width, to.height), 0, 0, cv::INTER_LINEAR);
    img = resized;
  }
  if (flip) {
    cv::Mat mirrored;
    cv::flip(img, mirrored, 1);
    img = mirrored;
  }
  return to_rgb(img);
}

std::array<float, 4> transform_box(const std::array<double, 4>& xywh, const ImageTransform& t) {
  const double sx = t.scale_x(), sy = t.scale_y();
  const double W = t.resized.width, H = t.resized.height;
  double x1 = std::clamp(xywh[0] * sx, 0.0, W);
  double y1 = std::clamp(xywh[1] * sy, 0.0, H);
  double x2 = std::clamp((xywh[0] + xywh[2]) * sx, 0.0, W);
  double y2 = std::clamp((xywh[1] + xywh[3]) * sy, 0.0, H);
  if (t.flipped) {
    const double a = W - x2, b = W - x1;
    x1 = a;
    x2 = b;
  }
  return {float(x1), float(y1), float(x2), float(y2)};
}

void rasterise_mask(const Annotation& annotation, const ImageTransform& t, std::uint8_t* out,
                    std::size_t out_stride) {
  const int W = t.resized.width, H = t.resized.height;
  if (W <= 0 || H <= 0) return;
  if (!annotation.polygons.empty()) {
    std::vector<std::vector<double>> scaled = annotation.polygons;
    const double sx = t.scale_x(), sy = t.scale_y();
    for (auto& poly : scaled)
      for (std::size_t j = 0; j + 1 < poly.size(); j += 2) {
        poly[j] *= sx;
        poly[j + 1] *= sy;
      }
    const Rle rle = rle_from_polygons(scaled, static_cast<std::uint32_t>(H), static_cast<std::uint32_t>(W));
    // Runs are column-major: position p is pixel (p / H, p % H). Only runs of 1s are visited.
    std::uint64_t pos = 0;
    for (std::size_t i = 0; i < rle.counts.size(); ++i) {
      const std::uint64_t end = pos + rle.counts[i];
      // One division per column piece of a run, not per pixel.
      for (std::uint64_t p = pos; i % 2 == 1 && p < end;) {
        const int x = static_cast<int>(p / H), y = static_cast<int>(p % H);
        const int n = static_cast<int>(std::min<std::uint64_t>(end - p, static_cast<std::uint64_t>(H - y)));
        std::uint8_t* column = out + (t.flipped ? W - 1 - x : x);
        for (int k = 0; k < n; ++k) column[(y + k) * out_stride] = 1;
        p += static_cast<std::uint64_t>(n);
      }
      pos = end;
    }
    return;
  }
  if (annotation.rle) {
    const Rle& rle = *annotation.rle;
    if (rle.h == 0 || rle.w == 0)
      throw Error("annotation " + std::to_string(annotation.id) + ": RLE mask of size 0");
    std::vector<std::uint8_t> decoded = rle_decode(rle);
    const cv::Mat src(static_cast<int>(rle.h), static_cast<int>(rle.w), CV_8U, decoded.data());
    cv::Mat dst(H, W, CV_8U, out, out_stride);
    if (src.rows == H && src.cols == W)
      src.copyTo(dst);
    else
      cv::resize(src, dst, cv::Size(W, H), 0, 0, cv::INTER_NEAREST);
    if (t.flipped) flip_rows(out, W, H, out_stride);
    return;
  }
  // No mask: the box (already mirrored by transform_box) filled, pixels whose centres lie inside.
  const std::array<float, 4> b = transform_box(annotation.bbox, t);
  const int x0 = std::max(0, static_cast<int>(std::ceil(b[0] - 0.5)));
  const int y0 = std::max(0, static_cast<int>(std::ceil(b[1] - 0.5)));
  const int x1 = std::min(W, static_cast<int>(std::ceil(b[2] - 0.5)));
  const int y1 = std::min(H, static_cast<int>(std::ceil(b[3] - 0.5)));
  for (int y = y0; y < y1; ++y)
    if (x1 > x0) std::memset(out + y * out_stride + x0, 1, static_cast<std::size_t>(x1 - x0));
}

std::vector<std::uint8_t> rasterise_mask(const Annotation& annotation, const ImageTransform& t) {
  std::vector<std::uint8_t> out(
      static_cast<std::size_t>(std::max(0, t.resized.width)) * std::max(0, t.resized.height), 0);
  rasterise_mask(annotation, t, out.data(), static_cast<std::size_t>(t.resized.width));
  return out;
}

std::array<float, 4> mask_tight_box(const std::uint8_t* mask, int width, int height, std::size_t stride) {
  int x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (int y = 0; y < height; ++y) {
    const std::uint8_t* row = mask + y * stride;
    for (int x = 0; x < width; ++x)
      if (row[x]) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  }
  if (x1 < 0) return {0, 0, 0, 0};
  return {float(x0), float(y0), float(x1 + 1), float(y1 + 1)};
}

Sample make_sample(const Dataset& dataset, const ImageInfo& image,
                   const std::vector<const Annotation*>& annotations, int short_side, int long_side,
                   bool flip, bool with_masks) {
  Sample s;
  s.image_id = image.id;
  s.image = load_resized_image(dataset.image_path(image), short_side, long_side, flip, &s.transform.original);
  s.transform.resized = {s.image.width, s.image.height};
  s.transform.flipped = flip;
  for (const Annotation* a : annotations) {
    s.boxes.push_back(transform_box(a->bbox, s.transform));
    std::int64_t label = -1;
    for (std::size_t c = 0; c < dataset.categories.size(); ++c)
      if (dataset.categories[c].id == a->category_id) label = static_cast<std::int64_t>(c);
    s.labels.push_back(label);
    if (with_masks) s.masks.push_back(rasterise_mask(*a, s.transform));
  }
  return s;
}

}  // namespace studio
