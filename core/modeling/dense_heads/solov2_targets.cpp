#include "modeling/dense_heads/solov2_targets.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "modeling/layers/resize.h"

namespace studio {
namespace {

// Python's int(x // (1 / S)) for the reference's cell formulas: the floor of x * S up to the
// rounding of 1/S, done the same way (floor division of doubles).
int cell_of(double normalised, int grid) {
  const double step = 1.0 / grid;
  return static_cast<int>(std::floor(normalised / step));
}

}  // namespace

std::vector<SOLOv2LevelTargets> solov2_targets(const InstanceTargets& gt, const SOLOv2TargetOptions& options,
                                               std::array<int64_t, 2> mask_feat_size) {
  const int64_t fh = mask_feat_size[0], fw = mask_feat_size[1];
  const int64_t n = gt.size();
  const auto device = gt.labels.defined() ? gt.labels.device() : torch::Device(torch::kCPU);
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8).device(device);
  if (n > 0 && !gt.masks.defined()) throw Error("SOLOv2 needs instance masks in the targets (the dataset has boxes only)");

  // Per gt, all levels at once and on the CPU (small): scale, centre of mass, downscaled mask.
  std::vector<double> scale(n), half_w(n), half_h(n), center_x(n), center_y(n);
  std::vector<bool> valid(n);
  std::vector<int64_t> labels(n);
  torch::Tensor small;  // [N, fh, fw] uint8
  if (n > 0) {
    torch::Tensor boxes = gt.boxes.to(torch::kCPU, torch::kDouble).contiguous();
    torch::Tensor lab = gt.labels.to(torch::kCPU, torch::kLong).contiguous();
    torch::Tensor masks = gt.masks.to(torch::kFloat);  // [N, H, W]
    const int64_t mh = masks.size(1), mw = masks.size(2);
    // Centre of mass in pixel indices (scipy.ndimage.center_of_mass, as the reference).
    torch::Tensor m00 = masks.sum({1, 2});
    torch::Tensor xs = torch::arange(mw, masks.options()), ys = torch::arange(mh, masks.options());
    torch::Tensor cx = ((masks.sum(1) * xs).sum(1) / m00.clamp_min(1e-6)).to(torch::kCPU, torch::kDouble);
    torch::Tensor cy = ((masks.sum(2) * ys).sum(1) / m00.clamp_min(1e-6)).to(torch::kCPU, torch::kDouble);
    torch::Tensor area = m00.to(torch::kCPU);
    // mmcv.imrescale(mask, 1/4): cv2 bilinear resize to round(size / 4) and uint8 rounding
    // (a 0.5 rounds up); torch's bilinear (align_corners false) samples the same points.
    const int64_t sh = static_cast<int64_t>(mh / static_cast<double>(options.mask_stride) + 0.5);
    const int64_t sw = static_cast<int64_t>(mw / static_cast<double>(options.mask_stride) + 0.5);
    torch::Tensor rescaled = resize_bilinear(masks.unsqueeze(0), sh, sw)[0].ge(0.5 - 1e-6).to(torch::kUInt8);
    // Pasted top-left into the mask-feature size (cur_ins_label[:h, :w] = seg_mask).
    small = torch::zeros({n, fh, fw}, u8);
    const int64_t ch = std::min(fh, sh), cw = std::min(fw, sw);
    small.slice(1, 0, ch).slice(2, 0, cw).copy_(rescaled.slice(1, 0, ch).slice(2, 0, cw));
    auto b = boxes.accessor<double, 2>();
    for (int64_t k = 0; k < n; ++k) {
      const double w = b[k][2] - b[k][0], h = b[k][3] - b[k][1];
      scale[k] = std::sqrt(w * h);
      half_w[k] = 0.5 * w * options.sigma;
      half_h[k] = 0.5 * h * options.sigma;
      center_x[k] = cx[k].item<double>();
      center_y[k] = cy[k].item<double>();
      valid[k] = area[k].item<float>() > 0;
      labels[k] = lab[k].item<int64_t>();
    }
  }

  const double up_h = static_cast<double>(fh * options.mask_stride);  // upsampled_size
  const double up_w = static_cast<double>(fw * options.mask_stride);
  std::vector<SOLOv2LevelTargets> out;
  for (size_t l = 0; l < options.num_grids.size(); ++l) {
    const int g = options.num_grids[l];
    const auto [lo, hi] = options.scale_ranges[l];
    std::vector<int64_t> cate(static_cast<size_t>(g) * g, options.num_classes);
    std::vector<int64_t> order;
    std::vector<int64_t> owner;  // gt index of each positive entry
    // The reference iterates the hits in annotation order (no sorting), so where cells of two
    // gts overlap, the later gt's label wins and both keep their mask entries.
    for (int64_t k = 0; k < n; ++k) {
      if (!(scale[k] >= lo && scale[k] <= hi) || !valid[k]) continue;
      // Cell of the centre, and the cells covered by the centre region (sigma x the box):
      //   coord_h = floor(cy / H_up * S),  top = max(0, floor((cy - half_h) / H_up * S)),
      //   down = min(S - 1, floor((cy + half_h) / H_up * S)), left/right the same along x;
      // then clamped to the 3x3 cells around the centre cell.
      const int coord_w = cell_of(center_x[k] / up_w, g);
      const int coord_h = cell_of(center_y[k] / up_h, g);
      const int top_box = std::max(0, cell_of((center_y[k] - half_h[k]) / up_h, g));
      const int down_box = std::min(g - 1, cell_of((center_y[k] + half_h[k]) / up_h, g));
      const int left_box = std::max(0, cell_of((center_x[k] - half_w[k]) / up_w, g));
      const int right_box = std::min(g - 1, cell_of((center_x[k] + half_w[k]) / up_w, g));
      const int top = std::max(top_box, coord_h - 1);
      const int down = std::min(down_box, coord_h + 1);
      const int left = std::max(coord_w - 1, left_box);
      const int right = std::min(right_box, coord_w + 1);
      for (int i = top; i <= down; ++i)
        for (int j = left; j <= right; ++j) {
          const int64_t cell = static_cast<int64_t>(i) * g + j;
          cate[cell] = labels[k];
          order.push_back(cell);
          owner.push_back(k);
        }
    }
    SOLOv2LevelTargets t;
    t.cate_labels = torch::tensor(cate, torch::kLong).to(device);
    t.grid_order = torch::tensor(order, torch::kLong).to(device).view({-1});
    t.positive = torch::zeros({static_cast<int64_t>(g) * g}, torch::TensorOptions().dtype(torch::kBool).device(device));
    if (!order.empty()) {
      t.positive.index_fill_(0, t.grid_order, true);
      t.masks = small.index_select(0, torch::tensor(owner, torch::kLong).to(small.device())).to(device);
    } else {
      t.masks = torch::zeros({0, fh, fw}, u8);
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace studio
