#include "modeling/ops/nms/nms.h"

#include <algorithm>

#include "common/error.h"

namespace studio {
namespace {

template <typename T>
torch::Tensor nms_cpu_impl(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold) {
  const int64_t n = boxes.size(0);
  torch::Tensor x1_t = boxes.select(1, 0).contiguous();
  torch::Tensor y1_t = boxes.select(1, 1).contiguous();
  torch::Tensor x2_t = boxes.select(1, 2).contiguous();
  torch::Tensor y2_t = boxes.select(1, 3).contiguous();
  // Areas as a tensor expression, like torchvision, so no compiler contraction (FMA) can make
  // them differ in the last bit.
  torch::Tensor area_t = (x2_t - x1_t) * (y2_t - y1_t);
  // Stable, as torchvision 0.14's kernel: equal scores are visited in index order.
  torch::Tensor order_t = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));

  const T* x1 = x1_t.data_ptr<T>();
  const T* y1 = y1_t.data_ptr<T>();
  const T* x2 = x2_t.data_ptr<T>();
  const T* y2 = y2_t.data_ptr<T>();
  const T* area = area_t.data_ptr<T>();
  const int64_t* order = order_t.data_ptr<int64_t>();

  std::vector<uint8_t> removed(static_cast<size_t>(n), 0);
  torch::Tensor keep_t = torch::empty({n}, torch::kLong);
  int64_t* keep = keep_t.data_ptr<int64_t>();
  int64_t kept = 0;
  for (int64_t a = 0; a < n; ++a) {
    const int64_t i = order[a];
    if (removed[i]) continue;
    keep[kept++] = i;
    for (int64_t b = a + 1; b < n; ++b) {
      const int64_t j = order[b];
      if (removed[j]) continue;
      const T w = std::max(static_cast<T>(0), std::min(x2[i], x2[j]) - std::max(x1[i], x1[j]));
      const T h = std::max(static_cast<T>(0), std::min(y2[i], y2[j]) - std::max(y1[i], y1[j]));
      const T inter = w * h;
      const T iou = inter / (area[i] + area[j] - inter);
      // Compared in double, as torchvision compares its scalar_t IoU with the double threshold.
      if (static_cast<double>(iou) > iou_threshold) removed[j] = 1;
    }
  }
  return keep_t.narrow(0, 0, kept);
}

torch::Tensor nms_cpu(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold) {
  if (boxes.numel() == 0) return torch::empty({0}, torch::kLong);
  switch (boxes.scalar_type()) {
    case torch::kFloat:
      return nms_cpu_impl<float>(boxes, scores, iou_threshold);
    case torch::kDouble:
      return nms_cpu_impl<double>(boxes, scores, iou_threshold);
    default:
      // Half / bfloat16 boxes (autocast): decide in float32. torchvision has no half CPU kernel.
      return nms_cpu_impl<float>(boxes.to(torch::kFloat), scores.to(torch::kFloat), iou_threshold);
  }
}

torch::Tensor batched_nms_coordinate_trick(const torch::Tensor& boxes, const torch::Tensor& scores,
                                           const torch::Tensor& idxs, double iou_threshold) {
  if (boxes.numel() == 0) return torch::empty({0}, boxes.options().dtype(torch::kLong));
  // Each category moves to its own region of the plane, past the largest coordinate, so boxes
  // of different categories have no intersection. Same expression and dtypes as torchvision.
  torch::Tensor max_coordinate = boxes.max();
  torch::Tensor offsets = idxs.to(boxes.options()) * (max_coordinate + torch::tensor(1).to(boxes.options()));
  torch::Tensor boxes_for_nms = boxes + offsets.unsqueeze(1);
  return nms(boxes_for_nms, scores, iou_threshold);
}

torch::Tensor batched_nms_per_category(const torch::Tensor& boxes, const torch::Tensor& scores,
                                       const torch::Tensor& idxs, double iou_threshold) {
  torch::Tensor keep_mask = torch::zeros_like(scores, scores.options().dtype(torch::kBool));
  torch::Tensor categories = std::get<0>(torch::_unique(idxs, /*sorted=*/true));
  for (int64_t c = 0; c < categories.size(0); ++c) {
    torch::Tensor members = torch::where(idxs == categories[c])[0];
    torch::Tensor kept = nms(boxes.index({members}), scores.index({members}), iou_threshold);
    keep_mask.index_put_({members.index({kept})}, true);
  }
  torch::Tensor keep = torch::where(keep_mask)[0];
  // torchvision's Python sort(descending=True) here: not stable, ties in ATen's order.
  return keep.index({std::get<1>(scores.index({keep}).sort(-1, /*descending=*/true))});
}

void check_inputs(const torch::Tensor& boxes, const torch::Tensor& scores, const char* op) {
  if (!boxes.defined() || boxes.dim() != 2 || boxes.size(1) != 4)
    throw Error(std::string(op) + ": expected boxes [N, 4]");
  if (!scores.defined() || scores.dim() != 1 || scores.size(0) != boxes.size(0))
    throw Error(std::string(op) + ": expected scores [N] with N = " + std::to_string(boxes.size(0)));
  if (!boxes.is_floating_point() || boxes.scalar_type() != scores.scalar_type())
    throw Error(std::string(op) + ": boxes and scores must be floating point of the same dtype");
}

}  // namespace

torch::Tensor nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold) {
  check_inputs(boxes, scores, "nms");
  // The dispatch point: a CUDA kernel would go here. Until then a CUDA call round-trips via the CPU.
  if (!boxes.device().is_cpu()) return nms_cpu(boxes.cpu(), scores.cpu(), iou_threshold).to(boxes.device());
  return nms_cpu(boxes, scores, iou_threshold);
}

torch::Tensor batched_nms(const torch::Tensor& boxes, const torch::Tensor& scores, const torch::Tensor& idxs,
                          double iou_threshold) {
  check_inputs(boxes, scores, "batched_nms");
  if (!idxs.defined() || idxs.dim() != 1 || idxs.size(0) != boxes.size(0))
    throw Error("batched_nms: expected idxs [N] with N = " + std::to_string(boxes.size(0)));
  const int64_t per_category_above =
      boxes.device().is_cpu() ? 4000 : 20000;  // torchvision's switch, in numel
  if (boxes.numel() > per_category_above) return batched_nms_per_category(boxes, scores, idxs, iou_threshold);
  return batched_nms_coordinate_trick(boxes, scores, idxs, iou_threshold);
}

}  // namespace studio
