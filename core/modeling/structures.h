#pragma once
// Typed containers passed between the data loader, the models and the trainer (STYLE.md, 5).
// Coordinates are pixels of the resized input image (COCO convention: continuous, (0,0) is the
// top-left corner of the top-left pixel); boxes are x1, y1, x2, y2.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace studio {

// A batch of images, resized, normalised and zero-padded to a common size (a multiple of the
// recipe's size_divisor, 32).
struct ImageBatch {
  torch::Tensor images;                           // [B, 3, H, W] float32
  std::vector<std::array<int, 2>> image_sizes;    // per image: (h, w) of the resized image inside the padding
  std::vector<std::array<int, 2>> original_sizes; // per image: (h, w) of the file
  std::vector<std::int64_t> image_ids;            // dataset image ids
  std::vector<bool> flipped;                      // per image: mirrored left-right by augmentation

  [[nodiscard]] std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
  // Moves the tensors to `device` (non_blocking when pinned).
  [[nodiscard]] ImageBatch to(const torch::Device& device) const;
};

// Ground truth of one image, in input coordinates. N may be 0.
struct InstanceTargets {
  torch::Tensor labels;  // [N] int64, contiguous class index 0..C-1 (Dataset::category_index)
  torch::Tensor boxes;   // [N, 4] float32 x1, y1, x2, y2
  torch::Tensor masks;   // [N, H, W] uint8 {0,1}, H, W = the padded batch size (undefined for box-only data)

  [[nodiscard]] std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  [[nodiscard]] InstanceTargets to(const torch::Device& device) const;
};

// Predictions for one image, at the original image size, sorted by score (highest first).
struct Instances {
  torch::Tensor scores;  // [K] float32
  torch::Tensor labels;  // [K] int64 contiguous class index
  torch::Tensor masks;   // [K, h, w] bool at the original size (undefined for box-only models)
  torch::Tensor boxes;   // [K, 4] float32 x1, y1, x2, y2 (SOLOv2: its masks' tight boxes; Mask R-CNN: its box branch's)

  [[nodiscard]] std::int64_t size() const { return scores.defined() ? scores.size(0) : 0; }
};

// No predictions for an image of `original_size` (h, w): every field a tensor with 0 rows, masks
// [0, h, w] bool when `with_masks` (undefined for box-only models), on options' device.
[[nodiscard]] Instances empty_instances(std::array<int, 2> original_size, bool with_masks,
                                        const torch::TensorOptions& options = {});

// Tight boxes x1, y1, x2, y2 (x2 = last column + 1) of masks [K, H, W] -> [K, 4] float; empty masks give 0s.
[[nodiscard]] torch::Tensor masks_to_boxes(const torch::Tensor& masks);

// Named loss terms of one step, in the order the model computes them (kept for logs and events).
// Each is a scalar tensor; the trainer sums them.
using LossTerms = std::vector<std::pair<std::string, torch::Tensor>>;

// Data-parallel training (engine/distributed.h): losses normalised by a count over the batch
// (SOLOv2's positives) divide by the count over all ranks / world_size instead of their own, so
// that the gradients averaged over N ranks x batch b equal those of 1 process x batch N*b.
// `sum` adds a number over the ranks; it is a collective, so every rank calls it the same number
// of times in the same order. Empty: a single process.
struct CountReducer {
  std::function<double(double)> sum;
  int world_size = 1;
  // The count this rank divides by: sum over ranks / world_size (the local count alone without `sum`).
  [[nodiscard]] double normaliser(double local) const {
    return sum ? sum(local) / static_cast<double>(world_size) : local;
  }
};

}  // namespace studio
