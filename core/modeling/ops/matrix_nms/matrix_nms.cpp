#include "modeling/ops/matrix_nms/matrix_nms.h"

#include "common/error.h"

namespace studio {
namespace {

// The whole op in torch tensor ops: works on the CPU and, unchanged, on CUDA tensors.
torch::Tensor matrix_nms_torch(const torch::Tensor& masks, const torch::Tensor& labels, const torch::Tensor& scores,
                               const MatrixNmsOptions& options, const torch::Tensor& mask_areas) {
  const int64_t n = labels.size(0);
  if (n == 0) return scores.clone();
  torch::Tensor flat = masks.reshape({n, -1}).to(torch::kFloat);                       // [N, HW]
  torch::Tensor areas = mask_areas.defined() ? mask_areas.to(torch::kFloat) : flat.sum(1);  // [N]
  torch::Tensor inter = torch::mm(flat, flat.t());                                     // [N, N]
  torch::Tensor areas_x = areas.expand({n, n});                                        // [i, j] = a_j
  torch::Tensor iou = (inter / (areas_x + areas_x.t() - inter)).triu(1);               // i < j only
  torch::Tensor labels_x = labels.expand({n, n});
  torch::Tensor same = (labels_x == labels_x.t()).to(iou.dtype()).triu(1);
  torch::Tensor decay_iou = iou * same;                                                // [N, N]
  // compensate[i] = max_k decay_iou[k, i], broadcast along row i.
  torch::Tensor compensate = std::get<0>(decay_iou.max(0)).expand({n, n}).t();         // [i, j] = comp_i
  torch::Tensor decay;
  if (options.kernel == MatrixNmsKernel::gaussian) {
    decay = torch::exp(-options.sigma * (decay_iou.pow(2) - compensate.pow(2)));
  } else {
    decay = (1 - decay_iou) / (1 - compensate);
    decay = torch::where(torch::isnan(decay), torch::ones_like(decay), decay);
  }
  // Only rows i < j count: the others are >= 1 in the reference; make them exactly neutral (1)
  // and cap at 1 so that column 0 (no row above) keeps its score.
  torch::Tensor upper = torch::ones({n, n}, masks.options().dtype(torch::kBool)).triu(1);
  decay = torch::where(upper, decay, torch::ones_like(decay));
  torch::Tensor coefficient = std::get<0>(decay.min(0));                               // [N]
  return scores * coefficient.to(scores.dtype());
}

}  // namespace

MatrixNmsKernel matrix_nms_kernel_from_name(const std::string& name) {
  if (name == "gaussian") return MatrixNmsKernel::gaussian;
  if (name == "linear") return MatrixNmsKernel::linear;
  throw Error("matrix_nms: unknown kernel '" + name + "'; expected gaussian or linear");
}

torch::Tensor matrix_nms(const torch::Tensor& masks, const torch::Tensor& labels, const torch::Tensor& scores,
                         const MatrixNmsOptions& options, const torch::Tensor& mask_areas) {
  TORCH_CHECK(masks.dim() == 3 && labels.dim() == 1 && scores.dim() == 1, "matrix_nms: masks [N,H,W], labels [N], scores [N]");
  TORCH_CHECK(masks.size(0) == labels.size(0) && labels.size(0) == scores.size(0), "matrix_nms: N differs");
  // A CUDA kernel would be dispatched here (masks.is_cuda()); the torch-op version serves both.
  return matrix_nms_torch(masks, labels, scores, options, mask_areas);
}

}  // namespace studio
