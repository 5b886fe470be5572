#include "modeling/roi_heads/roi_heads.h"

#include "common/error.h"
#include "modeling/layers/conv_norm.h"
#include "modeling/ops/balanced_sampler/balanced_sampler.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/matcher/matcher.h"
#include "modeling/ops/nms/nms.h"
#include "modeling/ops/roi_align/roi_align.h"
#include "modeling/proposal/rpn.h"

namespace studio {

namespace F = torch::nn::functional;

namespace {

double in_unit(const ConfigNode& node, const std::string& key, double fallback) {
  const double v = node.get_double(key, fallback);
  if (!(v >= 0.0 && v <= 1.0)) throw Error(node.where(key) + ": expected a value in [0, 1], got " + std::to_string(v));
  return v;
}

int64_t at_least(const ConfigNode& node, const std::string& key, int64_t fallback, int64_t min) {
  const int v = node.get_int(key, static_cast<int>(fallback));
  if (v < min) throw Error(node.where(key) + ": expected at least " + std::to_string(min) + ", got " + std::to_string(v));
  return v;
}

// The proposals of each image as [K_i, 4] slices of one [sum K_i, ...] tensor.
std::vector<int64_t> counts(const std::vector<torch::Tensor>& per_image) {
  std::vector<int64_t> n;
  for (const auto& t : per_image) n.push_back(t.size(0));
  return n;
}

}  // namespace

void roi_heads_options_from_config(const ConfigNode& node, const ConfigNode& test, RoIHeadsOptions& o) {
  node.allow({"representation_size", "mask_channels", "mask_layers", "box_pool_size", "mask_pool_size",
              "sampling_ratio", "aligned", "fg_iou_thresh", "bg_iou_thresh", "batch_size_per_image",
              "positive_fraction", "bbox_reg_weights", "box_loss"});
  o.representation_size = at_least(node, "representation_size", o.representation_size, 1);
  o.mask_channels = at_least(node, "mask_channels", o.mask_channels, 1);
  o.mask_layers = at_least(node, "mask_layers", o.mask_layers, 1);
  o.box_pool_size = at_least(node, "box_pool_size", o.box_pool_size, 1);
  o.mask_pool_size = at_least(node, "mask_pool_size", o.mask_pool_size, 1);
  o.sampling_ratio = at_least(node, "sampling_ratio", o.sampling_ratio, 0);
  o.aligned = node.get_bool("aligned", o.aligned);
  o.fg_iou_thresh = in_unit(node, "fg_iou_thresh", o.fg_iou_thresh);
  o.bg_iou_thresh = in_unit(node, "bg_iou_thresh", o.bg_iou_thresh);
  if (o.bg_iou_thresh > o.fg_iou_thresh)
    throw Error(node.where("bg_iou_thresh") + ": must not exceed fg_iou_thresh");
  o.batch_size_per_image = static_cast<int>(at_least(node, "batch_size_per_image", o.batch_size_per_image, 1));
  o.positive_fraction = in_unit(node, "positive_fraction", o.positive_fraction);
  const auto w = node.get_double_list("bbox_reg_weights", {o.bbox_reg_weights.begin(), o.bbox_reg_weights.end()});
  if (w.size() != 4) throw Error(node.where("bbox_reg_weights") + ": expected 4 weights (wx, wy, ww, wh)");
  for (size_t i = 0; i < 4; ++i) {
    if (!(w[i] > 0)) throw Error(node.where("bbox_reg_weights") + ": weights must be positive");
    o.bbox_reg_weights[i] = w[i];
  }
  o.box_loss = node.get_choice("box_loss", {"smooth_l1", "l1"}, o.box_loss);

  test.allow({"score_thr", "nms_thr", "max_per_img", "mask_thr"});
  o.score_thresh = in_unit(test, "score_thr", o.score_thresh);
  o.nms_thresh = in_unit(test, "nms_thr", o.nms_thresh);
  o.detections_per_img = at_least(test, "max_per_img", o.detections_per_img, 1);
  o.mask_thresh = in_unit(test, "mask_thr", o.mask_thresh);
}

TwoMLPHeadImpl::TwoMLPHeadImpl(int64_t in_features, int64_t representation_size) {
  fc6 = register_module("fc6", torch::nn::Linear(in_features, representation_size));
  fc7 = register_module("fc7", torch::nn::Linear(representation_size, representation_size));
}

torch::Tensor TwoMLPHeadImpl::forward(const torch::Tensor& x) {
  return torch::relu(fc7->forward(torch::relu(fc6->forward(x.flatten(1)))));
}

FastRCNNPredictorImpl::FastRCNNPredictorImpl(int64_t in_features, int64_t num_classes_with_bg) {
  cls_score = register_module("cls_score", torch::nn::Linear(in_features, num_classes_with_bg));
  bbox_pred = register_module("bbox_pred", torch::nn::Linear(in_features, num_classes_with_bg * 4));
}

std::pair<torch::Tensor, torch::Tensor> FastRCNNPredictorImpl::forward(const torch::Tensor& x) {
  const torch::Tensor f = x.flatten(1);
  return {cls_score->forward(f), bbox_pred->forward(f)};
}

MaskRCNNPredictorImpl::MaskRCNNPredictorImpl(int64_t in_channels, int64_t dim_reduced, int64_t num_classes_with_bg) {
  conv5_mask = register_module(
      "conv5_mask", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(in_channels, dim_reduced, 2).stride(2)));
  mask_fcn_logits = register_module(
      "mask_fcn_logits", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim_reduced, num_classes_with_bg, 1)));
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    if (p.key().find("weight") != std::string::npos)
      torch::nn::init::kaiming_normal_(p.value(), 0.0, torch::kFanOut, torch::kReLU);
    else
      torch::nn::init::zeros_(p.value());
  }
}

torch::Tensor MaskRCNNPredictorImpl::forward(const torch::Tensor& x) {
  return mask_fcn_logits->forward(torch::relu(conv5_mask->forward(x)));
}

RoIHeadsImpl::RoIHeadsImpl(const RoIHeadsOptions& options)
    : options_(options), box_coder_(options.bbox_reg_weights) {
  if (options.num_classes < 1) throw Error("RoIHeads: num_classes must be positive");
  const int64_t classes = options.num_classes + 1;
  box_pool_.output_size = {options.box_pool_size, options.box_pool_size};
  mask_pool_.output_size = {options.mask_pool_size, options.mask_pool_size};
  for (auto* p : {&box_pool_, &mask_pool_}) {
    p->sampling_ratio = options.sampling_ratio;
    p->aligned = options.aligned;
  }
  box_head = register_module(
      "box_head",
      TwoMLPHead(options.in_channels * options.box_pool_size * options.box_pool_size, options.representation_size));
  box_predictor = register_module("box_predictor", FastRCNNPredictor(options.representation_size, classes));

  // torchvision's MaskRCNNHeads: Sequential of Conv2dNormActivation(3x3, no norm) = Sequential(conv, ReLU).
  mask_head = register_module("mask_head", torch::nn::Sequential());
  int64_t in = options.in_channels;
  for (int64_t i = 0; i < options.mask_layers; ++i) {
    Conv2dReLU layer(torch::nn::Conv2dOptions(in, options.mask_channels, 3).padding(1));
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_normal_(layer->conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    torch::nn::init::zeros_(layer->conv->bias);
    mask_head->push_back(layer);  // keys mask_head.<i>.0.*
    in = options.mask_channels;
  }
  mask_predictor = register_module("mask_predictor", MaskRCNNPredictor(in, options.mask_channels, classes));
}

void RoIHeadsImpl::set_test_options(double score_thresh, double nms_thresh, int64_t detections_per_img) {
  options_.score_thresh = score_thresh;
  options_.nms_thresh = nms_thresh;
  options_.detections_per_img = detections_per_img;
}

std::pair<torch::Tensor, torch::Tensor> RoIHeadsImpl::box_outputs(
    const std::vector<torch::Tensor>& features, const std::vector<torch::Tensor>& boxes,
    const std::vector<std::array<int64_t, 2>>& image_sizes) {
  const torch::Tensor pooled = multi_scale_roi_align(features, boxes, image_sizes, box_pool_);
  return box_predictor->forward(box_head->forward(pooled));
}

torch::Tensor RoIHeadsImpl::mask_logits(const std::vector<torch::Tensor>& features,
                                        const std::vector<torch::Tensor>& boxes,
                                        const std::vector<std::array<int64_t, 2>>& image_sizes) {
  const torch::Tensor pooled = multi_scale_roi_align(features, boxes, image_sizes, mask_pool_);
  return mask_predictor->forward(mask_head->forward(pooled));
}

std::vector<RoIDetections> RoIHeadsImpl::postprocess_detections(
    const torch::Tensor& class_logits, const torch::Tensor& box_regression, const std::vector<torch::Tensor>& proposals,
    const std::vector<std::array<int64_t, 2>>& image_sizes) const {
  const int64_t num_classes = class_logits.size(-1);
  const std::vector<int64_t> per_image = counts(proposals);
  const torch::Tensor pred_boxes = box_coder_.decode(box_regression, torch::cat(proposals, 0));
  const torch::Tensor pred_scores = torch::softmax(class_logits, -1);
  const auto boxes_list = pred_boxes.split_with_sizes(per_image, 0);
  const auto scores_list = pred_scores.split_with_sizes(per_image, 0);

  std::vector<RoIDetections> out;
  for (size_t i = 0; i < per_image.size(); ++i) {
    torch::Tensor boxes = clip_boxes_to_image(boxes_list[i], image_sizes[i][0], image_sizes[i][1]);
    torch::Tensor scores = scores_list[i];
    torch::Tensor labels =
        torch::arange(num_classes, torch::TensorOptions(torch::kLong).device(scores.device())).view({1, -1}).expand_as(scores);
    // Background (column 0) out; one candidate per (proposal, class).
    boxes = boxes.slice(1, 1).reshape({-1, 4});
    scores = scores.slice(1, 1).reshape({-1});
    labels = labels.slice(1, 1).reshape({-1});
    torch::Tensor keep = torch::where(scores > options_.score_thresh)[0];
    boxes = boxes.index({keep}), scores = scores.index({keep}), labels = labels.index({keep});
    keep = remove_small_boxes(boxes, 1e-2);
    boxes = boxes.index({keep}), scores = scores.index({keep}), labels = labels.index({keep});
    keep = batched_nms(boxes, scores, labels, options_.nms_thresh).slice(0, 0, options_.detections_per_img);
    out.push_back({boxes.index({keep}), scores.index({keep}), labels.index({keep}), {}});
  }
  return out;
}

torch::Tensor project_masks_on_boxes(const torch::Tensor& gt_masks, const torch::Tensor& boxes,
                                     const torch::Tensor& matched_idxs, int64_t m) {
  const torch::Tensor rois = torch::cat({matched_idxs.to(boxes.options()).unsqueeze(1), boxes}, 1);
  RoIAlignOptions o;
  o.output_size = {m, m};
  o.spatial_scale = 1.0;
  o.sampling_ratio = -1;
  o.aligned = false;
  return roi_align(gt_masks.unsqueeze(1).to(rois.options()), rois, o).select(1, 0);
}

std::vector<RoIDetections> RoIHeadsImpl::forward(const std::vector<torch::Tensor>& all_features,
                                                 const std::vector<torch::Tensor>& proposals_in,
                                                 const std::vector<std::array<int64_t, 2>>& image_sizes,
                                                 const std::vector<InstanceTargets>* targets, LossTerms* losses) {
  // The RoI heads pool from P2..P5 (torchvision's featmap_names "0".."3"), not P6.
  const std::vector<torch::Tensor> features(all_features.begin(),
                                            all_features.begin() + std::min<size_t>(4, all_features.size()));
  if (targets == nullptr || losses == nullptr) {
    auto [class_logits, box_regression] = box_outputs(features, proposals_in, image_sizes);
    std::vector<RoIDetections> result = postprocess_detections(class_logits, box_regression, proposals_in, image_sizes);
    std::vector<torch::Tensor> boxes;
    for (const auto& r : result) boxes.push_back(r.boxes);
    const torch::Tensor probs = mask_logits(features, boxes, image_sizes).sigmoid();
    std::vector<torch::Tensor> labels;
    for (const auto& r : result) labels.push_back(r.labels);
    const torch::Tensor all_labels = torch::cat(labels);
    const torch::Tensor index = torch::arange(probs.size(0), all_labels.options());
    const auto per_image = probs.index({index, all_labels}).unsqueeze(1).split_with_sizes(counts(boxes), 0);
    for (size_t i = 0; i < result.size(); ++i) result[i].mask_probs = per_image[i];
    return result;
  }

  // ---- training: sample proposals (GT appended) against the targets ----
  const size_t num_images = proposals_in.size();
  const Matcher matcher(options_.fg_iou_thresh, options_.bg_iou_thresh, /*allow_low_quality_matches=*/false);
  std::vector<torch::Tensor> proposals, matched_idxs, labels, gt_boxes, gt_labels;
  for (size_t i = 0; i < num_images; ++i) {
    const InstanceTargets& t = (*targets)[i];
    const torch::Tensor boxes = t.boxes.to(proposals_in[i].dtype());
    gt_boxes.push_back(boxes);
    gt_labels.push_back(t.labels + 1);  // class index c -> torchvision label c + 1
    const torch::Tensor p = torch::cat({proposals_in[i], boxes}, 0);
    proposals.push_back(p);
    const auto long_options = torch::TensorOptions(torch::kLong).device(p.device());
    if (t.size() == 0) {
      matched_idxs.push_back(torch::zeros({p.size(0)}, long_options));
      labels.push_back(torch::zeros({p.size(0)}, long_options));
      continue;
    }
    const torch::Tensor matched = matcher(box_iou(boxes, p));
    const torch::Tensor clamped = matched.clamp_min(0);
    torch::Tensor l = gt_labels.back().index({clamped}).to(torch::kLong);
    l.index_put_({matched == Matcher::below_low_threshold}, 0);
    l.index_put_({matched == Matcher::between_thresholds}, -1);
    matched_idxs.push_back(clamped);
    labels.push_back(l);
  }
  const BalancedPositiveNegativeSampler sampler(options_.batch_size_per_image, options_.positive_fraction);
  const std::vector<SampledMasks> sampled = sampler(labels);
  std::vector<torch::Tensor> regression_targets;
  for (size_t i = 0; i < num_images; ++i) {
    const torch::Tensor inds = torch::where(sampled[i].positive.logical_or(sampled[i].negative))[0];
    proposals[i] = proposals[i].index({inds});
    labels[i] = labels[i].index({inds});
    matched_idxs[i] = matched_idxs[i].index({inds});
    torch::Tensor gt = gt_boxes[i];
    if (gt.numel() == 0) gt = torch::zeros({1, 4}, proposals[i].options());
    regression_targets.push_back(box_coder_.encode(gt.index({matched_idxs[i]}), proposals[i]));
  }

  // Box losses (torchvision's fastrcnn_loss).
  auto [class_logits, box_regression] = box_outputs(features, proposals, image_sizes);
  const torch::Tensor all_labels = torch::cat(labels, 0);
  const torch::Tensor all_targets = torch::cat(regression_targets, 0);
  const torch::Tensor classification_loss = F::cross_entropy(class_logits, all_labels);
  const torch::Tensor pos = torch::where(all_labels > 0)[0];
  const torch::Tensor labels_pos = all_labels.index({pos});
  const torch::Tensor deltas = box_regression.reshape({box_regression.size(0), box_regression.size(-1) / 4, 4});
  const torch::Tensor box_loss =
      rcnn_box_loss(deltas.index({pos, labels_pos}), all_targets.index({pos}), options_.box_loss, 1.0 / 9.0) /
      static_cast<double>(all_labels.numel());
  losses->emplace_back("loss_classifier", classification_loss);
  losses->emplace_back("loss_box_reg", box_loss);

  // Mask loss on the positives (torchvision's maskrcnn_loss), targets RoIAligned from the GT
  // masks cropped to the image (outside it the batch is padding).
  std::vector<torch::Tensor> mask_boxes, mask_targets, mask_labels;
  for (size_t i = 0; i < num_images; ++i) {
    const torch::Tensor p = torch::where(labels[i] > 0)[0];
    mask_boxes.push_back(proposals[i].index({p}));
    const torch::Tensor idx = matched_idxs[i].index({p});
    const InstanceTargets& t = (*targets)[i];
    mask_labels.push_back(gt_labels[i].index({idx}));
    if (!t.masks.defined()) throw Error("Mask R-CNN: training needs masks; the dataset has box-only annotations");
    const torch::Tensor gt_masks = t.masks.slice(1, 0, image_sizes[i][0]).slice(2, 0, image_sizes[i][1]);
    mask_targets.push_back(project_masks_on_boxes(gt_masks, mask_boxes.back(), idx, 2 * options_.mask_pool_size));
  }
  const torch::Tensor logits = mask_logits(features, mask_boxes, image_sizes);
  const torch::Tensor targets_all = torch::cat(mask_targets, 0);
  torch::Tensor mask_loss;
  if (targets_all.numel() == 0) {
    mask_loss = logits.sum() * 0;
  } else {
    const torch::Tensor l = torch::cat(mask_labels, 0);
    mask_loss = F::binary_cross_entropy_with_logits(
        logits.index({torch::arange(l.size(0), l.options()), l}), targets_all);
  }
  losses->emplace_back("loss_mask", mask_loss);
  return {};
}

}  // namespace studio
