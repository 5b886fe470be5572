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

}  // namespace studio
