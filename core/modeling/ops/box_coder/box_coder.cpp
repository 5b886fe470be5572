#include "modeling/ops/box_coder/box_coder.h"

#include "common/error.h"

namespace studio {

BoxCoder::BoxCoder(std::array<double, 4> weights, double bbox_xform_clip)
    : weights_(weights), bbox_xform_clip_(bbox_xform_clip) {
  for (double w : weights_)
    if (!(w > 0)) throw Error("BoxCoder: weights must be positive, got " + std::to_string(w));
}

torch::Tensor BoxCoder::encode(const torch::Tensor& reference_boxes, const torch::Tensor& proposals) const {
  if (reference_boxes.dim() != 2 || reference_boxes.size(1) != 4 ||
      proposals.sizes() != reference_boxes.sizes())
    throw Error("BoxCoder::encode: expected reference boxes and proposals [N, 4] of the same N");
  // torchvision makes the weights a tensor of the reference boxes' dtype and multiplies by its
  // elements (0-d tensors); doing the same keeps the rounding identical.
  torch::Tensor w =
      torch::tensor(std::vector<double>(weights_.begin(), weights_.end()), reference_boxes.options());
  torch::Tensor wx = w[0], wy = w[1], ww = w[2], wh = w[3];

  auto column = [](const torch::Tensor& b, int64_t k) { return b.select(1, k).unsqueeze(1); };  // [N, 1]
  torch::Tensor px1 = column(proposals, 0), py1 = column(proposals, 1);
  torch::Tensor px2 = column(proposals, 2), py2 = column(proposals, 3);
  torch::Tensor gx1 = column(reference_boxes, 0), gy1 = column(reference_boxes, 1);
  torch::Tensor gx2 = column(reference_boxes, 2), gy2 = column(reference_boxes, 3);

  torch::Tensor pw = px2 - px1, ph = py2 - py1;
  torch::Tensor pcx = px1 + 0.5 * pw, pcy = py1 + 0.5 * ph;
  torch::Tensor gw = gx2 - gx1, gh = gy2 - gy1;
  torch::Tensor gcx = gx1 + 0.5 * gw, gcy = gy1 + 0.5 * gh;

  torch::Tensor dx = wx * (gcx - pcx) / pw;
  torch::Tensor dy = wy * (gcy - pcy) / ph;
  torch::Tensor dw = ww * torch::log(gw / pw);
  torch::Tensor dh = wh * torch::log(gh / ph);
  return torch::cat({dx, dy, dw, dh}, 1);  // [N, 4]
}

torch::Tensor BoxCoder::decode_single(const torch::Tensor& deltas, const torch::Tensor& boxes_in) const {
  if (boxes_in.dim() != 2 || boxes_in.size(1) != 4) throw Error("BoxCoder::decode: expected boxes [N, 4]");
  if (deltas.dim() != 2 || deltas.size(0) != boxes_in.size(0) || deltas.size(1) % 4 != 0)
    throw Error("BoxCoder::decode: expected deltas [N, K*4] with N = " + std::to_string(boxes_in.size(0)));
  using torch::indexing::Slice;
  torch::Tensor boxes = boxes_in.to(deltas.scalar_type());
  torch::Tensor widths = boxes.select(1, 2) - boxes.select(1, 0);   // [N]
  torch::Tensor heights = boxes.select(1, 3) - boxes.select(1, 1);  // [N]
  torch::Tensor ctr_x = boxes.select(1, 0) + 0.5 * widths;
  torch::Tensor ctr_y = boxes.select(1, 1) + 0.5 * heights;

  // [N, K] each: every 4th column.
  torch::Tensor dx = deltas.index({Slice(), Slice(0, torch::indexing::None, 4)}) / weights_[0];
  torch::Tensor dy = deltas.index({Slice(), Slice(1, torch::indexing::None, 4)}) / weights_[1];
  torch::Tensor dw = deltas.index({Slice(), Slice(2, torch::indexing::None, 4)}) / weights_[2];
  torch::Tensor dh = deltas.index({Slice(), Slice(3, torch::indexing::None, 4)}) / weights_[3];
  dw = torch::clamp_max(dw, bbox_xform_clip_);
  dh = torch::clamp_max(dh, bbox_xform_clip_);

  torch::Tensor pred_ctr_x = dx * widths.unsqueeze(1) + ctr_x.unsqueeze(1);
  torch::Tensor pred_ctr_y = dy * heights.unsqueeze(1) + ctr_y.unsqueeze(1);
  torch::Tensor pred_w = torch::exp(dw) * widths.unsqueeze(1);
  torch::Tensor pred_h = torch::exp(dh) * heights.unsqueeze(1);
  // torchvision multiplies by a 0-d tensor 0.5 of the deltas' dtype.
  torch::Tensor half = torch::tensor(0.5, deltas.options());
  torch::Tensor half_h = half * pred_h;
  torch::Tensor half_w = half * pred_w;
  return torch::stack({pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h}, 2)
      .flatten(1);  // [N, K, 4] -> [N, K*4]
}

torch::Tensor BoxCoder::decode(const torch::Tensor& deltas, const torch::Tensor& boxes) const {
  const int64_t n = boxes.size(0);
  torch::Tensor codes = n > 0 ? deltas.reshape({n, -1}) : deltas;
  torch::Tensor pred = decode_single(codes, boxes);
  return n > 0 ? pred.reshape({n, -1, 4}) : pred;
}

}  // namespace studio
