#include "modeling/structures.h"

namespace studio {

ImageBatch ImageBatch::to(const torch::Device& device) const {
  ImageBatch out = *this;
  if (images.defined()) out.images = images.to(device, /*non_blocking=*/images.is_pinned());
  return out;
}

InstanceTargets InstanceTargets::to(const torch::Device& device) const {
  InstanceTargets out;
  auto move = [&](const torch::Tensor& t) {
    return t.defined() ? t.to(device, /*non_blocking=*/t.is_pinned()) : t;
  };
  out.labels = move(labels);
  out.boxes = move(boxes);
  out.masks = move(masks);
  return out;
}

Instances empty_instances(std::array<int, 2> original_size, bool with_masks, const torch::TensorOptions& options) {
  Instances out;
  out.scores = torch::zeros({0}, options.dtype(torch::kFloat));
  out.labels = torch::zeros({0}, options.dtype(torch::kLong));
  if (with_masks) out.masks = torch::zeros({0, original_size[0], original_size[1]}, options.dtype(torch::kBool));
  out.boxes = torch::zeros({0, 4}, options.dtype(torch::kFloat));
  return out;
}

torch::Tensor masks_to_boxes(const torch::Tensor& masks) {
  const int64_t k = masks.size(0);
  torch::Tensor boxes = torch::zeros({k, 4}, masks.options().dtype(torch::kFloat));
  if (k == 0) return boxes;
  torch::Tensor m = masks.to(torch::kBool);
  torch::Tensor rows = m.any(2), cols = m.any(1);  // [K, H], [K, W]
  const int64_t h = masks.size(1), w = masks.size(2);
  torch::Tensor ys = torch::arange(h, boxes.options()), xs = torch::arange(w, boxes.options());
  const float big = 1e9f;
  // First / last occupied column and row per mask (where-with-sentinel, then min/max).
  torch::Tensor x1 = torch::where(cols, xs, torch::full_like(xs, big)).amin(1);
  torch::Tensor x2 = torch::where(cols, xs, torch::full_like(xs, -1)).amax(1) + 1;
  torch::Tensor y1 = torch::where(rows, ys, torch::full_like(ys, big)).amin(1);
  torch::Tensor y2 = torch::where(rows, ys, torch::full_like(ys, -1)).amax(1) + 1;
  boxes = torch::stack({x1, y1, x2, y2}, 1);
  torch::Tensor empty = cols.any(1).logical_not();
  return boxes.masked_fill(empty.unsqueeze(1), 0.0f);
}

}  // namespace studio
