#include "modeling/meta_arch/solov2.h"

#include <string>
#include <utility>

#include "common/error.h"
#include "modeling/dense_heads/solov2_loss.h"
#include "modeling/layers/resize.h"

namespace studio {

namespace F = torch::nn::functional;

SOLOv2TestOptions solov2_test_options_from_config(const ConfigNode& test) {
  test.allow({"score_thr", "nms_pre", "mask_thr", "update_thr", "kernel", "sigma", "max_per_img"});
  SOLOv2TestOptions o;
  o.score_thr = test.get_double("score_thr", o.score_thr);
  o.nms_pre = test.get_int("nms_pre", o.nms_pre);
  o.mask_thr = test.get_double("mask_thr", o.mask_thr);
  o.update_thr = test.get_double("update_thr", o.update_thr);
  o.nms.kernel = matrix_nms_kernel_from_name(test.get_choice("kernel", {"gaussian", "linear"}, "gaussian"));
  o.nms.sigma = test.get_double("sigma", o.nms.sigma);
  o.max_per_img = test.get_int("max_per_img", o.max_per_img);
  if (o.nms_pre < 1) throw Error(test.where("nms_pre") + ": expected a positive number");
  if (o.max_per_img < 1) throw Error(test.where("max_per_img") + ": expected a positive number");
  return o;
}

SOLOv2::SOLOv2(SOLOv2Options options) : options_(std::move(options)) {
  backbone = register_module("backbone", build_backbone(options_.backbone));
  options_.neck.in_channels = backbone->out_channels();
  if (options_.neck.num_outs < static_cast<int>(options_.head.num_grids.size()))
    throw Error("model.neck.num_outs (" + std::to_string(options_.neck.num_outs) +
                ") is fewer than the SOLOv2 levels, the length of model.head.num_grids (" +
                std::to_string(options_.head.num_grids.size()) + ")");
  if (options_.head.mask_feature.end_level >= options_.neck.num_outs)
    throw Error("model.head.mask_feature.end_level (" + std::to_string(options_.head.mask_feature.end_level) +
                ") must be below model.neck.num_outs (" + std::to_string(options_.neck.num_outs) + ")");
  neck = register_module("neck", FPN(options_.neck));
  options_.head.num_classes = options_.num_classes;
  options_.head.in_channels = options_.neck.out_channels;
  options_.head.mask_feature.in_channels = options_.neck.out_channels;
  options_.head.mask_feature.out_channels = options_.head.kernel_out_channels;
  mask_feat_head = register_module("mask_feat_head", SOLOv2MaskFeature(options_.head.mask_feature));
  head = register_module("head", SOLOv2Head(options_.head));
}

SOLOv2::Outputs SOLOv2::forward(const torch::Tensor& images) {
  std::vector<torch::Tensor> feats = neck->forward(backbone->forward(images));
  Outputs out;
  out.mask_features = mask_feat_head->forward(feats);
  out.head = head->forward(feats);
  return out;
}

LossTerms SOLOv2::losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) {
  TORCH_CHECK(static_cast<int64_t>(targets.size()) == batch.size(), "SOLOv2::losses: ", targets.size(),
              " target sets for ", batch.size(), " images");
  Outputs out = forward(batch.images);
  SOLOv2TargetOptions t;
  t.num_classes = options_.num_classes;
  t.num_grids = options_.head.num_grids;
  t.scale_ranges = options_.head.scale_ranges;
  t.sigma = options_.head.sigma;
  t.mask_stride = 4;
  const std::array<int64_t, 2> feat_size{out.mask_features.size(2), out.mask_features.size(3)};
  std::vector<std::vector<SOLOv2LevelTargets>> level_targets;
  for (const auto& gt : targets) level_targets.push_back(solov2_targets(gt.to(out.mask_features.device()), t, feat_size));
  return solov2_loss(out.head, out.mask_features, level_targets, options_.head.loss, count_reducer_);
}

torch::Tensor solov2_points_nms(const torch::Tensor& heat) {
  torch::Tensor hmax = F::max_pool2d(heat, F::MaxPool2dFuncOptions(2).stride(1).padding(1));
  torch::Tensor keep = (hmax.slice(2, 0, -1).slice(3, 0, -1) == heat).to(heat.dtype());
  return heat * keep;
}

Instances solov2_predict_single(const std::vector<torch::Tensor>& cate_probs, const std::vector<torch::Tensor>& kernels,
                                const torch::Tensor& mask_features, const std::vector<int>& strides,
                                std::array<int, 2> image_size, std::array<int, 2> original_size,
                                const SOLOv2TestOptions& options) {
  const auto topts = mask_features.options();
  const int64_t e = mask_features.size(0), fh = mask_features.size(1), fw = mask_features.size(2);
  // Flatten the levels: cells [sum S², C] scores, [sum S², E] kernels, the level's stride per cell.
  std::vector<torch::Tensor> cate_flat, kernel_flat, stride_flat;
  for (size_t l = 0; l < cate_probs.size(); ++l) {
    const int64_t c = cate_probs[l].size(0);
    cate_flat.push_back(cate_probs[l].permute({1, 2, 0}).reshape({-1, c}));
    kernel_flat.push_back(kernels[l].permute({1, 2, 0}).reshape({-1, e}));
    stride_flat.push_back(torch::full({cate_flat.back().size(0)}, static_cast<float>(strides[l]), topts));
  }
  torch::Tensor cate = torch::cat(cate_flat, 0), kernel = torch::cat(kernel_flat, 0), stride = torch::cat(stride_flat);

  torch::Tensor candidates = (cate > options.score_thr).nonzero();  // [K, 2] (cell, class), row-major
  if (candidates.size(0) == 0) return empty_instances(original_size, /*with_masks=*/true, topts);
  torch::Tensor cells = candidates.select(1, 0), labels = candidates.select(1, 1);
  torch::Tensor scores = cate.index({cells, labels});
  torch::Tensor probs =
      torch::sigmoid(torch::mm(kernel.index_select(0, cells), mask_features.reshape({e, fh * fw}))).view({-1, fh, fw});
  torch::Tensor masks = probs > options.mask_thr;
  torch::Tensor areas = masks.sum({1, 2}).to(torch::kFloat);
  // Drop masks no larger than their level's stride (in mask-feature pixels, as the reference).
  torch::Tensor keep = (areas > stride.index_select(0, cells)).nonzero().view(-1);
  if (keep.numel() == 0) return empty_instances(original_size, /*with_masks=*/true, topts);
  masks = masks.index_select(0, keep);
  probs = probs.index_select(0, keep);
  areas = areas.index_select(0, keep);
  labels = labels.index_select(0, keep);
  // Maskness: mean probability inside the binary mask, times the category score.
  scores = scores.index_select(0, keep) * ((probs * masks.to(probs.dtype())).sum({1, 2}) / areas);

  torch::Tensor order = std::get<1>(scores.sort(/*stable=*/true, 0, /*descending=*/true));
  if (order.numel() > options.nms_pre) order = order.slice(0, 0, options.nms_pre);
  masks = masks.index_select(0, order);
  probs = probs.index_select(0, order);
  areas = areas.index_select(0, order);
  labels = labels.index_select(0, order);
  scores = scores.index_select(0, order);

  scores = matrix_nms(masks, labels, scores, options.nms, areas);
  keep = (scores >= options.update_thr).nonzero().view(-1);
  if (keep.numel() == 0) return empty_instances(original_size, /*with_masks=*/true, topts);
  probs = probs.index_select(0, keep);
  labels = labels.index_select(0, keep);
  scores = scores.index_select(0, keep);
  order = std::get<1>(scores.sort(/*stable=*/true, 0, /*descending=*/true));
  if (order.numel() > options.max_per_img) order = order.slice(0, 0, options.max_per_img);
  probs = probs.index_select(0, order);
  labels = labels.index_select(0, order);
  scores = scores.index_select(0, order);

  // Probabilities to the padded input size (x4), cropped to the image, resized to the file's size.
  torch::Tensor up = resize_bilinear(probs.unsqueeze(0), fh * 4, fw * 4);
  up = up.slice(2, 0, image_size[0]).slice(3, 0, image_size[1]);
  up = resize_bilinear(up, original_size[0], original_size[1])[0];
  Instances out;
  out.scores = scores.to(torch::kFloat);
  out.labels = labels.to(torch::kLong);
  out.masks = up > options.mask_thr;
  out.boxes = masks_to_boxes(out.masks);
  return out;
}

std::vector<Instances> SOLOv2::predict(const ImageBatch& batch) {
  Outputs out = forward(batch.images);
  std::vector<torch::Tensor> cate_probs;  // per level [B, C, S, S]
  for (const auto& c : out.head.cate_preds) cate_probs.push_back(solov2_points_nms(torch::sigmoid(c)));
  std::vector<Instances> results;
  for (int64_t b = 0; b < batch.size(); ++b) {
    std::vector<torch::Tensor> cate_b, kernel_b;
    for (size_t l = 0; l < cate_probs.size(); ++l) {
      cate_b.push_back(cate_probs[l][b]);
      kernel_b.push_back(out.head.kernel_preds[l][b]);
    }
    results.push_back(solov2_predict_single(cate_b, kernel_b, out.mask_features[b], options_.head.strides,
                                            batch.image_sizes.at(b), batch.original_sizes.at(b), options_.test));
  }
  return results;
}

}  // namespace studio
