#include "engine/instance_drawing.h"

#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "data/image_io.h"

namespace studio {

namespace {

// Well-separated colours (RGB), one per class index modulo the table.
cv::Scalar class_colour(std::int64_t label) {
  static const int table[][3] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                 {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                 {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};
  const auto& c = table[static_cast<std::size_t>(label) % (sizeof table / sizeof table[0])];
  return {double(c[0]), double(c[1]), double(c[2])};
}

}  // namespace

void draw_instances(const std::string& image_path, const Instances& instances, const std::vector<Category>& categories,
                    double score_thr, const std::string& out_path) {
  cv::Mat bgr = cv::imread(image_path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error(image_path + ": not a decodable image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const std::int64_t k = instances.size();
  torch::Tensor scores, labels, masks, boxes;
  if (k > 0) {
    scores = instances.scores.to(torch::kCPU, torch::kFloat).contiguous();
    labels = instances.labels.to(torch::kCPU, torch::kLong).contiguous();
    if (instances.masks.defined()) masks = instances.masks.to(torch::kCPU, torch::kUInt8).contiguous();
    if (instances.boxes.defined()) boxes = instances.boxes.to(torch::kCPU, torch::kFloat).contiguous();
  }
  // Lowest score first so the most confident instance ends up on top.
  for (std::int64_t i = k - 1; i >= 0; --i) {
    const float score = scores[i].item<float>();
    if (score < score_thr) continue;
    const std::int64_t label = labels[i].item<std::int64_t>();
    const cv::Scalar colour = class_colour(label);
    if (masks.defined() && masks.size(1) == rgb.rows && masks.size(2) == rgb.cols) {
      cv::Mat mask(rgb.rows, rgb.cols, CV_8UC1, masks[i].data_ptr<std::uint8_t>());
      cv::Mat tint(rgb.size(), rgb.type(), colour);
      cv::Mat blended;
      cv::addWeighted(rgb, 0.5, tint, 0.5, 0.0, blended);
      blended.copyTo(rgb, mask);
    }
    if (boxes.defined()) {
      const float* b = boxes[i].data_ptr<float>();
      const cv::Point p1{static_cast<int>(b[0]), static_cast<int>(b[1])};
      const cv::Point p2{static_cast<int>(b[2]), static_cast<int>(b[3])};
      cv::rectangle(rgb, p1, p2, colour, 1);
      std::string name = label >= 0 && label < std::int64_t(categories.size())
                             ? categories[std::size_t(label)].name
                             : std::to_string(label);
      char text[160];
      std::snprintf(text, sizeof text, "%s %.2f", name.c_str(), double(score));
      int baseline = 0;
      const cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 0.4, 1, &baseline);
      const int y = std::max(ts.height + 2, p1.y);
      cv::rectangle(rgb, cv::Point(p1.x, y - ts.height - 2), cv::Point(p1.x + ts.width + 2, y), colour, cv::FILLED);
      cv::putText(rgb, text, cv::Point(p1.x + 1, y - 2), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0), 1,
                  cv::LINE_AA);
    }
  }
  write_rgb_image(out_path, rgb.data, rgb.cols, rgb.rows);
}

}  // namespace studio
