#include "modeling/ops/box_ops/box_ops.h"

#include "common/error.h"

namespace studio {
namespace {

// torchvision's _upcast: low-precision floats to float32, small integers to int64, so that
// products of coordinates don't overflow or lose digits.
torch::Tensor upcast(const torch::Tensor& t) {
  if (t.is_floating_point()) {
    const auto dtype = t.scalar_type();
    return (dtype == torch::kFloat || dtype == torch::kDouble) ? t : t.to(torch::kFloat);
  }
  const auto dtype = t.scalar_type();
  return (dtype == torch::kInt || dtype == torch::kLong) ? t : t.to(torch::kLong);
}

void check_boxes(const torch::Tensor& boxes, const char* op) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4)
    throw Error(
        std::string(op) + ": expected boxes [N, 4], got " +
        (boxes.defined() ? std::to_string(boxes.dim()) + "-d " + c10::str(boxes.sizes()) : "undefined"));
}

}  // namespace

torch::Tensor box_area(const torch::Tensor& boxes) {
  check_boxes(boxes, "box_area");
  torch::Tensor b = upcast(boxes);
  return (b.select(1, 2) - b.select(1, 0)) * (b.select(1, 3) - b.select(1, 1));
}

torch::Tensor box_iou(const torch::Tensor& boxes1, const torch::Tensor& boxes2) {
  check_boxes(boxes1, "box_iou");
  check_boxes(boxes2, "box_iou");
  torch::Tensor area1 = box_area(boxes1);  // [N]
  torch::Tensor area2 = box_area(boxes2);  // [M]
  using torch::indexing::None;
  using torch::indexing::Slice;
  // Corners of the intersections, [N, M, 2] each.
  torch::Tensor lt =
      torch::max(boxes1.index({Slice(), None, Slice(None, 2)}), boxes2.index({Slice(), Slice(None, 2)}));
  torch::Tensor rb =
      torch::min(boxes1.index({Slice(), None, Slice(2, None)}), boxes2.index({Slice(), Slice(2, None)}));
  torch::Tensor wh = upcast(rb - lt).clamp_min(0);          // [N, M, 2]
  torch::Tensor inter = wh.select(2, 0) * wh.select(2, 1);  // [N, M]
  torch::Tensor uni = area1.unsqueeze(1) + area2 - inter;   // [N, M]
  return inter / uni;
}

torch::Tensor clip_boxes_to_image(const torch::Tensor& boxes, std::int64_t height, std::int64_t width) {
  if (!boxes.defined() || boxes.dim() < 1 || boxes.size(-1) != 4)
    throw Error("clip_boxes_to_image: expected boxes [..., 4]");
  using torch::indexing::Ellipsis;
  using torch::indexing::None;
  using torch::indexing::Slice;
  const int64_t dim = boxes.dim();
  torch::Tensor xs = boxes.index({Ellipsis, Slice(0, None, 2)}).clamp(0, width);   // [..., 2]
  torch::Tensor ys = boxes.index({Ellipsis, Slice(1, None, 2)}).clamp(0, height);  // [..., 2]
  // Stacking on a new last dim interleaves x and y back: [..., 2, 2] -> [..., 4].
  return torch::stack({xs, ys}, dim).reshape(boxes.sizes());
}

torch::Tensor remove_small_boxes(const torch::Tensor& boxes, double min_size) {
  check_boxes(boxes, "remove_small_boxes");
  torch::Tensor ws = boxes.select(1, 2) - boxes.select(1, 0);
  torch::Tensor hs = boxes.select(1, 3) - boxes.select(1, 1);
  torch::Tensor keep = (ws >= min_size) & (hs >= min_size);
  return torch::where(keep)[0];
}

}  // namespace studio
