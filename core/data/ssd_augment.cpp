#include "data/ssd_augment.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace studio {

namespace {

using Box = std::array<float, 4>;

// numpy.random's helpers in our stream: uniform(a, b), randint(2), randint(n).
double uniform(std::mt19937_64& rng, double a, double b) { return a + (b - a) * uniform01(rng); }
bool coin(std::mt19937_64& rng) { return uniform01(rng) >= 0.5; }
std::size_t below(std::mt19937_64& rng, std::size_t n) { return static_cast<std::size_t>(rng() % n); }

cv::Mat to_mat(const FloatImage& image) {
  cv::Mat m(image.height, image.width, CV_32FC3);
  std::memcpy(m.data, image.pixels.data(), image.pixels.size() * sizeof(float));
  return m;
}

FloatImage from_mat(const cv::Mat& m) {
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  FloatImage out;
  out.width = c.cols;
  out.height = c.rows;
  out.pixels.assign(reinterpret_cast<const float*>(c.data),
                    reinterpret_cast<const float*>(c.data) + static_cast<std::size_t>(c.rows) * c.cols * 3);
  return out;
}

void scale_channel(cv::Mat& m, int channel, float factor) {
  for (int y = 0; y < m.rows; ++y) {
    float* row = m.ptr<float>(y);
    for (int x = 0; x < m.cols; ++x) row[3 * x + channel] *= factor;
  }
}

void contrast(cv::Mat& m, std::mt19937_64& rng) {
  if (coin(rng)) m *= uniform(rng, 0.5, 1.5);
}

// RGB -> HSV, saturation, hue, HSV -> RGB.
void hsv_steps(cv::Mat& m, std::mt19937_64& rng) {
  cv::cvtColor(m, m, cv::COLOR_RGB2HSV);
  if (coin(rng)) scale_channel(m, 1, static_cast<float>(uniform(rng, 0.5, 1.5)));
  if (coin(rng)) {
    const auto delta = static_cast<float>(uniform(rng, -18.0, 18.0));
    for (int y = 0; y < m.rows; ++y) {
      float* row = m.ptr<float>(y);
      for (int x = 0; x < m.cols; ++x) {
        float& h = row[3 * x];
        h += delta;
        if (h > 360.f) h -= 360.f;
        if (h < 0.f) h += 360.f;
      }
    }
  }
  cv::cvtColor(m, m, cv::COLOR_HSV2RGB);
}

void photometric(cv::Mat& m, std::mt19937_64& rng) {
  if (coin(rng)) m += cv::Scalar::all(uniform(rng, -32.0, 32.0));
  if (coin(rng)) {
    contrast(m, rng);
    hsv_steps(m, rng);
  } else {
    hsv_steps(m, rng);
    contrast(m, rng);
  }
  if (coin(rng)) {
    static constexpr int kPerms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const int* p = kPerms[below(rng, 6)];
    cv::Mat swapped(m.size(), m.type());
    const int from_to[] = {p[0], 0, p[1], 1, p[2], 2};
    cv::mixChannels(&m, 1, &swapped, 1, from_to, 3);
    m = swapped;
  }
}

void expand(cv::Mat& m, std::vector<Box>& boxes, float fill, std::mt19937_64& rng) {
  if (coin(rng)) return;  // the reference returns on randint(2) == 1
  const double ratio = uniform(rng, 1.0, 4.0);
  const double left = uniform(rng, 0.0, m.cols * ratio - m.cols);
  const double top = uniform(rng, 0.0, m.rows * ratio - m.rows);
  cv::Mat canvas(static_cast<int>(m.rows * ratio), static_cast<int>(m.cols * ratio), CV_32FC3, cv::Scalar::all(fill));
  const int x0 = static_cast<int>(left), y0 = static_cast<int>(top);
  m.copyTo(canvas(cv::Rect(x0, y0, m.cols, m.rows)));
  m = canvas;
  for (Box& b : boxes) {
    b[0] += static_cast<float>(x0);
    b[2] += static_cast<float>(x0);
    b[1] += static_cast<float>(y0);
    b[3] += static_cast<float>(y0);
  }
}

// IoU of each box with an integer rectangle, in double as numpy computes it from float32 boxes
// and int64 corners (float64 result).
double iou(const Box& b, const int r[4]) {
  const double iw = std::max(0.0, std::min<double>(b[2], r[2]) - std::max<double>(b[0], r[0]));
  const double ih = std::max(0.0, std::min<double>(b[3], r[3]) - std::max<double>(b[1], r[1]));
  const double inter = iw * ih;
  const double area_b = static_cast<double>(b[2] - b[0]) * static_cast<double>(b[3] - b[1]);
  const double area_r = static_cast<double>(r[2] - r[0]) * (r[3] - r[1]);
  return inter / (area_b + area_r - inter);
}

// The crop both pipelines share: keeps the boxes whose centre lies strictly inside `rect` (and, when
// `overlap` is given, that overlap it), clipped to it and shifted into it; crops `m` to it. False
// (nothing changed) when no box is kept.
bool crop_to(cv::Mat& m, std::vector<Box>& boxes, std::vector<std::int64_t>& labels, const int rect[4],
             const std::vector<double>* overlap) {
  std::vector<Box> kept;
  std::vector<std::int64_t> kept_labels;
  const auto x0 = static_cast<float>(rect[0]), y0 = static_cast<float>(rect[1]);
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    const float cx = (b[0] + b[2]) / 2.f, cy = (b[1] + b[3]) / 2.f;
    if (overlap && !((*overlap)[i] > 0)) continue;
    if (!(rect[0] < cx && rect[1] < cy && rect[2] > cx && rect[3] > cy)) continue;
    kept.push_back({std::max(b[0], x0) - x0, std::max(b[1], y0) - y0,
                    std::min(b[2], static_cast<float>(rect[2])) - x0, std::min(b[3], static_cast<float>(rect[3])) - y0});
    kept_labels.push_back(labels[i]);
  }
  if (kept.empty()) return false;
  m = m(cv::Rect(rect[0], rect[1], rect[2] - rect[0], rect[3] - rect[1])).clone();
  boxes = std::move(kept);
  labels = std::move(kept_labels);
  return true;
}

void random_crop(cv::Mat& m, std::vector<Box>& boxes, std::vector<std::int64_t>& labels, CropRule rule,
                 std::mt19937_64& rng) {
  static constexpr double kMinIou[6] = {0, 0.1, 0.3, 0.7, 0.9, -1};  // [0]: keep the image; -1: any patch
  const double width = m.cols, height = m.rows;
  for (;;) {
    const std::size_t mode = below(rng, 6);
    if (mode == 0) return;
    const double min_iou = kMinIou[mode] < 0 ? -std::numeric_limits<double>::infinity() : kMinIou[mode];
    for (int trial = 0; trial < 50; ++trial) {
      const double w = uniform(rng, 0.3 * width, width);
      const double h = uniform(rng, 0.3 * height, height);
      if (h / w < 0.5 || h / w > 2) continue;
      const double left = uniform(rng, 0.0, width - w);
      const double top = uniform(rng, 0.0, height - h);
      const int rect[4] = {static_cast<int>(left), static_cast<int>(top), static_cast<int>(left + w),
                           static_cast<int>(top + h)};
      if (rule == CropRule::MinIou) {
        double lowest = std::numeric_limits<double>::infinity();
        for (const Box& b : boxes) lowest = std::min(lowest, iou(b, rect));
        if (lowest < min_iou) continue;
      }
      if (crop_to(m, boxes, labels, rect, nullptr)) return;
    }
  }
}

// MindSpore's random_sample_crop (see the header): one min-IoU draw, up to 50 patches, no retry.
void ms_crop(cv::Mat& m, std::vector<Box>& boxes, std::vector<std::int64_t>& labels, std::mt19937_64& rng) {
  static constexpr double kMinIou[6] = {0, 0.1, 0.3, 0.5, 0.7, 0.9};  // [0]: None, the image unchanged
  const std::size_t mode = below(rng, 6);
  if (mode == 0) return;
  const double min_iou = kMinIou[mode];
  const double width = m.cols, height = m.rows;
  std::vector<double> overlap(boxes.size());
  for (int trial = 0; trial < 50; ++trial) {
    const double w = uniform(rng, 0.3, 1.0) * width;
    const double h = uniform(rng, 0.3, 1.0) * height;
    if (h / w < 0.5 || h / w > 2) continue;
    const double left = uniform01(rng) * (width - w);
    const double top = uniform01(rng) * (height - h);
    const int rect[4] = {static_cast<int>(left), static_cast<int>(top), static_cast<int>(left + w),
                         static_cast<int>(top + h)};
    double lowest = std::numeric_limits<double>::infinity(), highest = 0;
    for (std::size_t i = 0; i < boxes.size(); ++i) {
      overlap[i] = iou(boxes[i], rect);
      if (overlap[i] > 0) {
        lowest = std::min(lowest, overlap[i]);
        highest = std::max(highest, overlap[i]);
      }
    }
    if (!(highest > 0)) continue;                               // drop_mask.any() is false
    if (lowest < min_iou && highest > min_iou + 0.2) continue;  // the reference's IoU test
    if (crop_to(m, boxes, labels, rect, &overlap)) return;
  }
}

// RandomColorAdjust(brightness, contrast, saturation) on `count` RGB float pixels (see the header
// for the order and the draws).
void ms_color(float* px, std::size_t count, float strength, std::mt19937_64& rng) {
  if (!(strength > 0)) return;
  static constexpr int kPerms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  const int* order = kPerms[below(rng, 6)];
  float factor[3];
  for (float& f : factor) f = static_cast<float>(uniform(rng, 1.0 - strength, 1.0 + strength));
  const auto grey = [](const float* p) { return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]; };
  const auto clip = [](float v) { return std::min(255.f, std::max(0.f, v)); };
  for (int k = 0; k < 3; ++k) {
    const float f = factor[order[k]];
    if (order[k] == 0) {
      for (std::size_t i = 0; i < 3 * count; ++i) px[i] = clip(f * px[i]);
    } else if (order[k] == 1) {
      double sum = 0;
      for (std::size_t i = 0; i < count; ++i) sum += grey(px + 3 * i);
      const float mean = count ? static_cast<float>(sum / static_cast<double>(count)) : 0.f;
      for (std::size_t i = 0; i < 3 * count; ++i) px[i] = clip(f * px[i] + (1 - f) * mean);
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        float* p = px + 3 * i;
        const float g = grey(p);
        for (int c = 0; c < 3; ++c) p[c] = clip(f * p[c] + (1 - f) * g);
      }
    }
  }
}

SsdAugmented ms_augment(cv::Mat& m, SsdAugmented out, const SsdAugmentOptions& options,
                        std::mt19937_64& rng) {
  if (options.crop) ms_crop(m, out.boxes, out.labels, rng);
  const auto S = static_cast<float>(options.size);
  const float sx = S / static_cast<float>(m.cols), sy = S / static_cast<float>(m.rows);
  for (Box& b : out.boxes) b = {b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy};
  cv::Mat resized;
  cv::resize(m, resized, cv::Size(options.size, options.size), 0, 0, cv::INTER_LINEAR);
  if (options.flip > 0 && uniform01(rng) < options.flip) {
    cv::flip(resized, resized, 1);
    for (Box& b : out.boxes) b = {S - b[2], b[1], S - b[0], b[3]};
  }
  out.image = from_mat(resized);
  ms_color(out.image.pixels.data(), out.image.pixels.size() / 3, options.color_jitter, rng);
  return out;
}

}  // namespace

void ms_random_sample_crop(FloatImage& image, std::vector<Box>& boxes, std::vector<std::int64_t>& labels,
                           std::mt19937_64& rng) {
  cv::Mat m = to_mat(image);
  ms_crop(m, boxes, labels, rng);
  image = from_mat(m);
}

void ms_color_adjust(FloatImage& image, float strength, std::mt19937_64& rng) {
  ms_color(image.pixels.data(), image.pixels.size() / 3, strength, rng);
}

void ssd_photometric_distort(FloatImage& image, std::mt19937_64& rng) {
  cv::Mat m = to_mat(image);
  photometric(m, rng);
  image = from_mat(m);
}

void ssd_expand(FloatImage& image, std::vector<Box>& boxes, float fill, std::mt19937_64& rng) {
  cv::Mat m = to_mat(image);
  expand(m, boxes, fill, rng);
  image = from_mat(m);
}

void ssd_random_crop(FloatImage& image, std::vector<Box>& boxes, std::vector<std::int64_t>& labels, CropRule rule,
                     std::mt19937_64& rng) {
  cv::Mat m = to_mat(image);
  random_crop(m, boxes, labels, rule, rng);
  image = from_mat(m);
}

SsdAugmented ssd_augment(const RgbImage& image, const std::vector<Box>& boxes, const std::vector<std::int64_t>& labels,
                         const SsdAugmentOptions& options, std::mt19937_64& rng) {
  if (boxes.empty() || boxes.size() != labels.size())
    throw std::invalid_argument("ssd_augment: expected at least one box and a label per box");
  const cv::Mat bytes(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat m;
  bytes.convertTo(m, CV_32FC3);
  SsdAugmented out;
  out.boxes = boxes;
  out.labels = labels;
  if (options.style == SsdStyle::MindSpore) return ms_augment(m, std::move(out), options, rng);
  if (options.photometric) photometric(m, rng);
  if (options.expand) expand(m, out.boxes, options.fill, rng);
  if (options.crop) random_crop(m, out.boxes, out.labels, options.crop_rule, rng);
  if (options.flip > 0 && uniform01(rng) < options.flip) {
    cv::flip(m, m, 1);
    const auto W = static_cast<float>(m.cols);
    for (Box& b : out.boxes) b = {W - b[2], b[1], W - b[0], b[3]};
  }
  const float sx = static_cast<float>(options.size) / static_cast<float>(m.cols);
  const float sy = static_cast<float>(options.size) / static_cast<float>(m.rows);
  for (Box& b : out.boxes) b = {b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy};
  cv::Mat resized;
  cv::resize(m, resized, cv::Size(options.size, options.size), 0, 0, cv::INTER_LINEAR);
  out.image = from_mat(resized);
  return out;
}

}  // namespace studio
