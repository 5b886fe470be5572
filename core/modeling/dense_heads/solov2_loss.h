#pragma once
// SOLOv2's training loss (WXinlong/SOLO solov2_head.py, loss): Dice loss on the masks the positive
// cells' predicted kernels draw, and sigmoid Focal loss on every grid cell's class scores.
#include <vector>

#include <torch/torch.h>

#include "modeling/dense_heads/solov2_head.h"
#include "modeling/dense_heads/solov2_targets.h"
#include "modeling/structures.h"

namespace studio {

// probs [P, h, w] in [0, 1], targets [P, h, w] {0,1} -> [P]:
//   1 - 2 Σ p t / (Σ p² + 0.001 + Σ t² + 0.001)
[[nodiscard]] torch::Tensor solov2_dice_loss(const torch::Tensor& probs, const torch::Tensor& targets);

// logits [M, C], labels [M] int64 (C = background) -> scalar sum over all M x C of
//   BCE(x, t) * (alpha t + (1 - alpha)(1 - t)) * pt^gamma,  pt = (1 - p) t + p (1 - t), p = sigmoid(x)
// (mmdet's sigmoid_focal_loss before reduction; the caller divides by the positives + 1).
[[nodiscard]] torch::Tensor solov2_focal_loss_sum(const torch::Tensor& logits, const torch::Tensor& labels,
                                                  double alpha, double gamma);

// The two loss terms, {"loss_ins", "loss_cate"}:
//   loss_ins  = dice_weight x mean over every positive entry (all images, all levels) of the dice
//               loss of sigmoid(kernel · mask_features) against its gt mask;
//   loss_cate = focal_weight x focal sum over all cells / (number of positive cells + 1).
// Data-parallel (`counts` with a sum over ranks): the dice sum is divided by the entries of all
// ranks / world_size and the focal sum by (positives of all ranks + 1) / world_size, so that the
// mean over ranks of each term (and of its gradients) is the single-process value for the union
// of the ranks' batches.
// head: per level kernel_preds [B, E, S, S], cate_preds [B, C, S, S]; mask_features [B, E, h, w];
// targets[b][level] from solov2_targets.
[[nodiscard]] LossTerms solov2_loss(const SOLOv2HeadOutput& head, const torch::Tensor& mask_features,
                                    const std::vector<std::vector<SOLOv2LevelTargets>>& targets,
                                    const SOLOv2LossOptions& options, const CountReducer& counts = {});

}  // namespace studio
