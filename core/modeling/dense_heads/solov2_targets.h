#pragma once
// SOLOv2 target assignment (WXinlong/SOLO solov2_head.py, solov2_target_single), one image.
#include <array>
#include <vector>

#include <torch/torch.h>

#include "modeling/structures.h"

namespace studio {

struct SOLOv2TargetOptions {
  int num_classes = 80;                          // background label of a cell = num_classes
  std::vector<int> num_grids;                    // S per level
  std::vector<std::array<double, 2>> scale_ranges;  // per level [lo, hi] of sqrt(box w * h), inclusive
  double sigma = 0.2;                            // centre region = sigma x the box
  int mask_stride = 4;                           // the mask features' stride (output_stride)
};

// Targets of one image on one level.
struct SOLOv2LevelTargets {
  torch::Tensor cate_labels;  // [S*S] int64, row-major cell i*S+j; num_classes where no instance
  torch::Tensor positive;     // [S*S] bool: cells holding an instance (ins_ind_label)
  torch::Tensor grid_order;   // [P] int64 cell index of each positive entry (a cell may repeat)
  torch::Tensor masks;        // [P, h, w] uint8 {0,1}: its gt mask at the mask-feature size
};

// For one image: targets per level. `mask_feat_size` = (h, w) of the mask features; the
// reference's "upsampled size" is mask_feat_size * mask_stride, the padded input size, which is
// the coordinate frame of gt.masks [N, h*4, w*4] and gt.boxes. Needs gt.masks (SOLOv2 is a mask model).
[[nodiscard]] std::vector<SOLOv2LevelTargets> solov2_targets(const InstanceTargets& gt, const SOLOv2TargetOptions& options,
                                                            std::array<int64_t, 2> mask_feat_size);

}  // namespace studio
