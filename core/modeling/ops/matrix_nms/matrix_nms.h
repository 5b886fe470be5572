#pragma once
// Matrix NMS (SOLOv2, Wang et al. 2020): soft suppression of all masks at once from their IoU
// matrix, instead of greedy one-by-one NMS. One dispatch point (STYLE.md, 6): the implementation in
// torch ops (matrix_nms.cpp) runs on any device; a dedicated CUDA kernel would go to
// cuda/matrix_nms_cuda.cu and be picked in matrix_nms() for CUDA tensors.
#include <string>

#include <torch/torch.h>

namespace studio {

enum class MatrixNmsKernel { gaussian, linear };

struct MatrixNmsOptions {
  MatrixNmsKernel kernel = MatrixNmsKernel::gaussian;
  double sigma = 2.0;  // gaussian only
};

// "gaussian" | "linear"; anything else throws studio::Error.
[[nodiscard]] MatrixNmsKernel matrix_nms_kernel_from_name(const std::string& name);

// masks [N, H, W] bool or float {0, 1}, sorted by score, highest first; labels [N] int64;
// scores [N] float. mask_areas [N] (the masks' pixel sums) may be given to save the sum.
// Returns the decayed scores [N] (same dtype as scores):
//   iou[i, j]       = |m_i ∩ m_j| / (|m_i| + |m_j| - |m_i ∩ m_j|) for i < j with labels equal, else 0
//   compensate[i]   = max over k < i of iou[k, i] (how much i itself is suppressed)
//   decay[i, j]     = f(iou[i, j]) / f(compensate[i]),  f(x) = exp(-sigma x²) or 1 - x
//   coefficient[j]  = min over i < j of decay[i, j] (1 for j = 0)
//   result[j]       = scores[j] * coefficient[j]
// This equals the reference's min over the whole column (its rows i >= j are >= 1 and row 0 is
// <= 1). For the linear kernel the 0/0 of identical masks (iou = compensate = 1) is taken as 1.
[[nodiscard]] torch::Tensor matrix_nms(const torch::Tensor& masks, const torch::Tensor& labels,
                                       const torch::Tensor& scores, const MatrixNmsOptions& options = {},
                                       const torch::Tensor& mask_areas = {});

}  // namespace studio
