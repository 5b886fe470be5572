#include "modeling/dense_heads/solov2_loss.h"

namespace studio {

torch::Tensor solov2_dice_loss(const torch::Tensor& probs, const torch::Tensor& targets) {
  torch::Tensor p = probs.reshape({probs.size(0), -1});
  torch::Tensor t = targets.reshape({targets.size(0), -1}).to(p.dtype());
  torch::Tensor a = (p * t).sum(1);
  torch::Tensor b = (p * p).sum(1) + 0.001;
  torch::Tensor c = (t * t).sum(1) + 0.001;
  return 1 - 2 * a / (b + c);
}

torch::Tensor solov2_focal_loss_sum(const torch::Tensor& logits, const torch::Tensor& labels, double alpha,
                                    double gamma) {
  const int64_t c = logits.size(1);
  // One-hot over C + 1 columns, background dropped: background rows are all zeros.
  torch::Tensor t = torch::one_hot(labels, c + 1).slice(1, 0, c).to(logits.dtype());
  torch::Tensor p = torch::sigmoid(logits);
  torch::Tensor pt = (1 - p) * t + p * (1 - t);
  torch::Tensor weight = (alpha * t + (1 - alpha) * (1 - t)) * pt.pow(gamma);
  torch::Tensor bce = torch::binary_cross_entropy_with_logits(logits, t, {}, {}, at::Reduction::None);
  return (bce * weight).sum();
}

LossTerms solov2_loss(const SOLOv2HeadOutput& head_in, const torch::Tensor& mask_features_in,
                      const std::vector<std::vector<SOLOv2LevelTargets>>& targets, const SOLOv2LossOptions& options, const CountReducer& counts) {
  // Under autocast the head gives bfloat16 (CPU) or float16 (CUDA): the loss arithmetic is done in
  // float (autocast still runs the dice masks' matrix product in the low precision).
  SOLOv2HeadOutput head;
  for (const auto& k : head_in.kernel_preds) head.kernel_preds.push_back(k.to(torch::kFloat));
  for (const auto& c : head_in.cate_preds) head.cate_preds.push_back(c.to(torch::kFloat));
  const torch::Tensor mask_features = mask_features_in.to(torch::kFloat);
  const int64_t batch = mask_features.size(0), e = mask_features.size(1);
  const int64_t fh = mask_features.size(2), fw = mask_features.size(3);
  const size_t levels = head.kernel_preds.size();
  TORCH_CHECK(static_cast<int64_t>(targets.size()) == batch, "solov2_loss: one target list per image expected");

  // Masks of the positive entries: per image, gather the kernels [P, E] of its positive cells over
  // all levels and apply them as a 1x1 conv (a matmul) to its mask features [E, h*w].
  std::vector<torch::Tensor> dice;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<torch::Tensor> kernels, gts;
    for (size_t l = 0; l < levels; ++l) {
      const SOLOv2LevelTargets& t = targets[b][l];
      if (t.grid_order.numel() == 0) continue;
      torch::Tensor k = head.kernel_preds[l][b].reshape({e, -1});  // [E, S*S]
      kernels.push_back(k.index_select(1, t.grid_order).t());      // [P_l, E]
      gts.push_back(t.masks);
    }
    if (kernels.empty()) continue;
    torch::Tensor logits = torch::mm(torch::cat(kernels, 0), mask_features[b].reshape({e, fh * fw}));  // [P, h*w]
    dice.push_back(solov2_dice_loss(torch::sigmoid(logits), torch::cat(gts, 0).reshape({-1, fh * fw})));
  }
  // The normaliser is computed on every rank, with or without positives (a collective).
  std::int64_t entries = 0;
  for (const auto& d : dice) entries += d.size(0);
  const double dice_norm = counts.normaliser(static_cast<double>(entries));
  torch::Tensor loss_ins;
  if (dice.empty() || !(dice_norm > 0)) {
    // No positives anywhere: a zero that still depends on the branch, so every parameter gets a
    // (zero) gradient (the reference would fail on the empty cat; mmdet does the same as here).
    torch::Tensor zero = mask_features.sum() * 0;
    for (const auto& k : head.kernel_preds) zero = zero + k.sum() * 0;
    loss_ins = zero;
  } else {
    loss_ins = torch::cat(dice).sum() / dice_norm * options.dice_weight;
  }

  // Category: every cell of every level and image, [sum B*S*S, C] against the flattened labels.
  std::vector<torch::Tensor> logits, labels;
  int64_t num_pos = 0;
  for (size_t l = 0; l < levels; ++l) {
    const torch::Tensor& c = head.cate_preds[l];  // [B, C, S, S]
    logits.push_back(c.permute({0, 2, 3, 1}).reshape({-1, c.size(1)}));
    for (int64_t b = 0; b < batch; ++b) {
      labels.push_back(targets[b][l].cate_labels);
      num_pos += targets[b][l].positive.sum().item<int64_t>();
    }
  }
  // Labels are collected level-major then image, matching the logits' [level][b][cell] order.
  torch::Tensor focal = solov2_focal_loss_sum(torch::cat(logits, 0), torch::cat(labels, 0), options.focal_alpha,
                                              options.focal_gamma);
  const double cate_norm = counts.sum ? (counts.sum(static_cast<double>(num_pos)) + 1) / counts.world_size
                                      : static_cast<double>(num_pos + 1);
  torch::Tensor loss_cate = focal / cate_norm * options.focal_weight;
  return {{"loss_ins", loss_ins}, {"loss_cate", loss_cate}};
}

}  // namespace studio
