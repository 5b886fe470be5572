#include "modeling/proposal/rpn.h"

#include <algorithm>

#include "common/error.h"
#include "modeling/layers/conv_norm.h"
#include "modeling/ops/balanced_sampler/balanced_sampler.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/matcher/matcher.h"
#include "modeling/ops/nms/nms.h"

namespace studio {

namespace F = torch::nn::functional;

namespace {

int positive_int(const ConfigNode& node, const std::string& key, int fallback) {
  const int v = node.get_int(key, fallback);
  if (v < 1) throw Error(node.where(key) + ": expected a positive number, got " + std::to_string(v));
  return v;
}

double unit_interval(const ConfigNode& node, const std::string& key, double fallback) {
  const double v = node.get_double(key, fallback);
  if (!(v >= 0.0 && v <= 1.0)) throw Error(node.where(key) + ": expected a value in [0, 1], got " + std::to_string(v));
  return v;
}

}  // namespace

RPNOptions rpn_options_from_config(const ConfigNode& node) {
  node.allow({"anchor_sizes", "aspect_ratios", "pre_nms_top_n_train", "pre_nms_top_n_test", "post_nms_top_n_train",
              "post_nms_top_n_test", "nms_thresh", "min_size", "score_thresh", "fg_iou_thresh", "bg_iou_thresh",
              "batch_size_per_image", "positive_fraction", "box_loss"});
  RPNOptions o;
  std::vector<double> sizes;
  for (const auto& s : o.anchors.sizes) sizes.push_back(s.front());
  sizes = node.get_double_list("anchor_sizes", sizes);
  const std::vector<double> ratios = node.get_double_list("aspect_ratios", o.anchors.aspect_ratios.front());
  if (sizes.empty()) throw Error(node.where("anchor_sizes") + ": expected one anchor size per feature level");
  for (double s : sizes)
    if (!(s > 0)) throw Error(node.where("anchor_sizes") + ": anchor sizes must be positive");
  if (ratios.empty()) throw Error(node.where("aspect_ratios") + ": expected at least one aspect ratio");
  for (double r : ratios)
    if (!(r > 0)) throw Error(node.where("aspect_ratios") + ": aspect ratios must be positive");
  o.anchors.sizes.clear();
  o.anchors.aspect_ratios.clear();
  for (double s : sizes) {
    o.anchors.sizes.push_back({s});
    o.anchors.aspect_ratios.push_back(ratios);
  }
  o.pre_nms_top_n_train = positive_int(node, "pre_nms_top_n_train", o.pre_nms_top_n_train);
  o.pre_nms_top_n_test = positive_int(node, "pre_nms_top_n_test", o.pre_nms_top_n_test);
  o.post_nms_top_n_train = positive_int(node, "post_nms_top_n_train", o.post_nms_top_n_train);
  o.post_nms_top_n_test = positive_int(node, "post_nms_top_n_test", o.post_nms_top_n_test);
  o.nms_thresh = unit_interval(node, "nms_thresh", o.nms_thresh);
  o.min_size = node.get_double("min_size", o.min_size);
  if (!(o.min_size >= 0)) throw Error(node.where("min_size") + ": expected a size >= 0");
  o.score_thresh = unit_interval(node, "score_thresh", o.score_thresh);
  o.fg_iou_thresh = unit_interval(node, "fg_iou_thresh", o.fg_iou_thresh);
  o.bg_iou_thresh = unit_interval(node, "bg_iou_thresh", o.bg_iou_thresh);
  if (o.bg_iou_thresh > o.fg_iou_thresh)
    throw Error(node.where("bg_iou_thresh") + ": must not exceed fg_iou_thresh (" + std::to_string(o.fg_iou_thresh) +
                ")");
  o.batch_size_per_image = positive_int(node, "batch_size_per_image", o.batch_size_per_image);
  o.positive_fraction = unit_interval(node, "positive_fraction", o.positive_fraction);
  o.box_loss = node.get_choice("box_loss", {"smooth_l1", "l1"}, o.box_loss);
  return o;
}

torch::Tensor rcnn_box_loss(const torch::Tensor& input, const torch::Tensor& target, const std::string& kind,
                            double beta) {
  if (kind == "l1") return F::l1_loss(input, target, F::L1LossFuncOptions().reduction(torch::kSum));
  return F::smooth_l1_loss(input, target, F::SmoothL1LossFuncOptions().reduction(torch::kSum), beta);
}

RPNHeadImpl::RPNHeadImpl(int64_t in_channels, int64_t num_anchors) {
  Conv2dReLU conv_relu(torch::nn::Conv2dOptions(in_channels, in_channels, 3).padding(1));
  torch::nn::Conv2d c = conv_relu->conv;
  conv = register_module("conv", torch::nn::Sequential(conv_relu));  // keys conv.0.0.*
  cls_logits = register_module("cls_logits", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, num_anchors, 1)));
  bbox_pred =
      register_module("bbox_pred", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, num_anchors * 4, 1)));
  torch::NoGradGuard no_grad;
  for (auto* layer : {c.get(), cls_logits.get(), bbox_pred.get()}) {
    torch::nn::init::normal_(layer->weight, 0.0, 0.01);
    torch::nn::init::zeros_(layer->bias);
  }
}

std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> RPNHeadImpl::forward(
    const std::vector<torch::Tensor>& features) {
  std::vector<torch::Tensor> logits, deltas;
  for (const auto& f : features) {
    const torch::Tensor t = conv->forward(f);
    logits.push_back(cls_logits->forward(t));
    deltas.push_back(bbox_pred->forward(t));
  }
  return {logits, deltas};
}

RPNImpl::RPNImpl(const RPNOptions& options, int64_t in_channels)
    : options_(options), anchor_generator_(options.anchors) {
  const auto per_location = anchor_generator_.num_anchors_per_location();
  for (int64_t a : per_location)
    if (a != per_location.front())
      throw Error("RPN: every level needs the same number of anchors per location (one shared head)");
  head = register_module("head", RPNHead(in_channels, per_location.front()));
}

std::pair<torch::Tensor, torch::Tensor> RPNImpl::flatten_predictions(const std::vector<torch::Tensor>& objectness,
                                                                     const std::vector<torch::Tensor>& deltas) {
  // [B, A*C, H, W] -> [B, H*W*A, C] per level (torchvision's permute_and_flatten), then levels
  // concatenated per image and the images stacked.
  std::vector<torch::Tensor> cls, reg;
  for (size_t l = 0; l < objectness.size(); ++l) {
    const int64_t n = objectness[l].size(0), h = objectness[l].size(2), w = objectness[l].size(3);
    const int64_t a = deltas[l].size(1) / 4, c = objectness[l].size(1) / a;
    cls.push_back(objectness[l].view({n, -1, c, h, w}).permute({0, 3, 4, 1, 2}).reshape({n, -1, c}));
    reg.push_back(deltas[l].view({n, -1, 4, h, w}).permute({0, 3, 4, 1, 2}).reshape({n, -1, 4}));
  }
  return {torch::cat(cls, 1).flatten(0, -2), torch::cat(reg, 1).reshape({-1, 4})};
}

Proposals RPNImpl::filter_proposals(const torch::Tensor& proposals, const torch::Tensor& objectness_in,
                                    const std::vector<std::array<int64_t, 2>>& image_sizes,
                                    const std::vector<int64_t>& num_anchors_per_level) const {
  const int64_t num_images = proposals.size(0);
  const auto device = proposals.device();
  const torch::Tensor objectness_all = objectness_in.detach().reshape({num_images, -1});

  std::vector<torch::Tensor> level_ids;
  for (size_t l = 0; l < num_anchors_per_level.size(); ++l)
    level_ids.push_back(torch::full({num_anchors_per_level[l]}, static_cast<int64_t>(l),
                                    torch::TensorOptions(torch::kLong).device(device)));
  const torch::Tensor levels_all = torch::cat(level_ids, 0).reshape({1, -1}).expand_as(objectness_all);

  // The top pre_nms_top_n anchors of each level by objectness.
  const int64_t pre_nms_top_n = is_training() ? options_.pre_nms_top_n_train : options_.pre_nms_top_n_test;
  std::vector<torch::Tensor> top;
  int64_t offset = 0;
  for (const auto& ob : objectness_all.split_with_sizes(num_anchors_per_level, 1)) {
    const int64_t k = std::min<int64_t>(pre_nms_top_n, ob.size(1));
    top.push_back(std::get<1>(ob.topk(k, 1)) + offset);
    offset += ob.size(1);
  }
  const torch::Tensor top_n_idx = torch::cat(top, 1);
  const torch::Tensor batch_idx = torch::arange(num_images, torch::TensorOptions(torch::kLong).device(device)).unsqueeze(1);
  const torch::Tensor objectness = objectness_all.index({batch_idx, top_n_idx});
  const torch::Tensor levels = levels_all.index({batch_idx, top_n_idx});
  const torch::Tensor boxes_top = proposals.index({batch_idx, top_n_idx});
  const torch::Tensor probs = torch::sigmoid(objectness);

  const int64_t post_nms_top_n = is_training() ? options_.post_nms_top_n_train : options_.post_nms_top_n_test;
  Proposals out;
  for (int64_t i = 0; i < num_images; ++i) {
    torch::Tensor boxes = clip_boxes_to_image(boxes_top[i], image_sizes[i][0], image_sizes[i][1]);
    torch::Tensor scores = probs[i], lvl = levels[i];
    torch::Tensor keep = remove_small_boxes(boxes, options_.min_size);
    boxes = boxes.index({keep}), scores = scores.index({keep}), lvl = lvl.index({keep});
    keep = torch::where(scores >= options_.score_thresh)[0];
    boxes = boxes.index({keep}), scores = scores.index({keep}), lvl = lvl.index({keep});
    keep = batched_nms(boxes, scores, lvl, options_.nms_thresh).slice(0, 0, post_nms_top_n);
    out.boxes.push_back(boxes.index({keep}));
    out.scores.push_back(scores.index({keep}));
  }
  return out;
}

Proposals RPNImpl::forward(const torch::Tensor& images, const std::vector<std::array<int64_t, 2>>& image_sizes,
                           const std::vector<torch::Tensor>& features, const std::vector<InstanceTargets>* targets,
                           LossTerms* losses) {
  auto [objectness_levels, delta_levels] = head->forward(features);
  const std::vector<torch::Tensor> anchors = anchor_generator_.forward(images, features);
  const int64_t num_images = static_cast<int64_t>(anchors.size());
  std::vector<int64_t> num_anchors_per_level;
  for (const auto& o : objectness_levels) num_anchors_per_level.push_back(o.size(1) * o.size(2) * o.size(3));
  auto [objectness, deltas] = flatten_predictions(objectness_levels, delta_levels);

  // Decode against every image's anchors (concatenated, as torchvision's BoxCoder.decode).
  const torch::Tensor proposals =
      box_coder_.decode(deltas.detach(), torch::cat(anchors, 0)).view({num_images, -1, 4});
  Proposals out = filter_proposals(proposals, objectness, image_sizes, num_anchors_per_level);
  if (targets == nullptr || losses == nullptr) return out;

  // Anchor labels 1 / 0 / -1 (ignored) and regression targets per image.
  const Matcher matcher(options_.fg_iou_thresh, options_.bg_iou_thresh, /*allow_low_quality_matches=*/true);
  std::vector<torch::Tensor> labels, regression_targets;
  for (int64_t i = 0; i < num_images; ++i) {
    const torch::Tensor& a = anchors[static_cast<size_t>(i)];
    const InstanceTargets& t = (*targets)[static_cast<size_t>(i)];
    torch::Tensor matched_boxes, l;
    if (t.size() == 0) {
      matched_boxes = torch::zeros(a.sizes(), a.options());
      l = torch::zeros({a.size(0)}, a.options());
    } else {
      const torch::Tensor gt = t.boxes.to(a.dtype());
      const torch::Tensor matched = matcher(box_iou(gt, a));
      matched_boxes = gt.index({matched.clamp_min(0)});
      l = (matched >= 0).to(torch::kFloat32);
      l.index_put_({matched == Matcher::below_low_threshold}, 0.0);
      l.index_put_({matched == Matcher::between_thresholds}, -1.0);
    }
    labels.push_back(l);
    regression_targets.push_back(box_coder_.encode(matched_boxes, a));
  }

  const BalancedPositiveNegativeSampler sampler(options_.batch_size_per_image, options_.positive_fraction);
  std::vector<torch::Tensor> pos_masks, neg_masks;
  for (const auto& s : sampler(labels)) {
    pos_masks.push_back(s.positive);
    neg_masks.push_back(s.negative);
  }
  const torch::Tensor pos = torch::where(torch::cat(pos_masks, 0))[0];
  const torch::Tensor neg = torch::where(torch::cat(neg_masks, 0))[0];
  const torch::Tensor sampled = torch::cat({pos, neg}, 0);
  const torch::Tensor flat_objectness = objectness.flatten();
  const torch::Tensor all_labels = torch::cat(labels, 0);
  const torch::Tensor all_targets = torch::cat(regression_targets, 0);

  const torch::Tensor box_loss =
      rcnn_box_loss(deltas.index({pos}), all_targets.index({pos}), options_.box_loss, 1.0 / 9.0) /
      static_cast<double>(sampled.numel());
  const torch::Tensor objectness_loss =
      F::binary_cross_entropy_with_logits(flat_objectness.index({sampled}), all_labels.index({sampled}));
  losses->emplace_back("loss_objectness", objectness_loss);
  losses->emplace_back("loss_rpn_box_reg", box_loss);
  return out;
}

}  // namespace studio
