#include "modeling/ops/paste_masks/paste_masks.h"

#include <algorithm>

#include "common/error.h"

namespace studio {
namespace {

// Grows boxes [N, 4] about their centres by `scale`, torchvision's expand_boxes.
torch::Tensor expand_boxes(const torch::Tensor& boxes, double scale) {
  torch::Tensor w_half = (boxes.select(1, 2) - boxes.select(1, 0)) * 0.5;
  torch::Tensor h_half = (boxes.select(1, 3) - boxes.select(1, 1)) * 0.5;
  torch::Tensor x_c = (boxes.select(1, 2) + boxes.select(1, 0)) * 0.5;
  torch::Tensor y_c = (boxes.select(1, 3) + boxes.select(1, 1)) * 0.5;
  w_half = w_half * scale;
  h_half = h_half * scale;
  return torch::stack({x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half}, 1);
}

}  // namespace

torch::Tensor paste_masks_in_image(const torch::Tensor& masks_in, const torch::Tensor& boxes, int64_t height,
                                   int64_t width, int64_t padding) {
  if (!masks_in.defined() || (masks_in.dim() != 4 && masks_in.dim() != 3))
    throw Error("paste_masks_in_image: expected masks [N, 1, M, M]");
  torch::Tensor masks = masks_in.dim() == 3 ? masks_in.unsqueeze(1) : masks_in;  // [N, 1, M, M]
  if (masks.size(1) != 1) throw Error("paste_masks_in_image: expected one mask channel");
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4 || boxes.size(0) != masks.size(0))
    throw Error("paste_masks_in_image: expected boxes [N, 4] with N = " + std::to_string(masks.size(0)));
  if (height <= 0 || width <= 0) throw Error("paste_masks_in_image: empty image size");
  const int64_t n = masks.size(0);
  const int64_t m = masks.size(-1);
  torch::Tensor out = torch::zeros({n, 1, height, width}, masks.options());
  if (n == 0) return out;

  torch::Tensor padded =
      torch::constant_pad_nd(masks, {padding, padding, padding, padding}, 0);  // [N, 1, M+2p, M+2p]
  const double scale = static_cast<double>(m + 2 * padding) / static_cast<double>(m);
  torch::Tensor int_boxes = expand_boxes(boxes, scale).to(torch::kLong).cpu().contiguous();  // [N, 4]
  auto b = int_boxes.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t x1 = b[i][0], y1 = b[i][1], x2 = b[i][2], y2 = b[i][3];
    const int64_t w = std::max<int64_t>(x2 - x1 + 1, 1);
    const int64_t h = std::max<int64_t>(y2 - y1 + 1, 1);
    // The visible part of the box in the image: [x0, x_end) x [y0, y_end).
    const int64_t x0 = std::max<int64_t>(x1, 0), x_end = std::min<int64_t>(x2 + 1, width);
    const int64_t y0 = std::max<int64_t>(y1, 0), y_end = std::min<int64_t>(y2 + 1, height);
    if (x_end <= x0 || y_end <= y0) continue;
    // The same call as F.interpolate(size=(h, w), mode="bilinear", align_corners=False).
    torch::Tensor resized = at::upsample_bilinear2d(padded.narrow(0, i, 1), {h, w}, /*align_corners=*/false,
                                                    c10::nullopt, c10::nullopt);  // [1, 1, h, w]
    out[i][0]
        .slice(0, y0, y_end)
        .slice(1, x0, x_end)
        .copy_(resized[0][0].slice(0, y0 - y1, y_end - y1).slice(1, x0 - x1, x_end - x1));
  }
  return out;
}

}  // namespace studio
