#include "modeling/meta_arch/mask_rcnn.h"

#include <cmath>

#include "common/error.h"
#include "modeling/ops/paste_masks/paste_masks.h"

namespace studio {

namespace {

RCNNTransformOptions transform_options_from_config(const ConfigNode& node) {
  node.allow({"min_size", "max_size", "size_divisor", "mean", "std"});
  RCNNTransformOptions o;
  o.min_size = node.get_int_list("min_size", o.min_size);
  if (o.min_size.empty()) throw Error(node.where("min_size") + ": expected at least one size");
  for (int s : o.min_size)
    if (s < 1) throw Error(node.where("min_size") + ": expected sizes >= 1, got " + std::to_string(s));
  o.max_size = node.get_int("max_size", o.max_size);
  if (o.max_size < 1) throw Error(node.where("max_size") + ": expected a size >= 1");
  o.size_divisor = node.get_int("size_divisor", o.size_divisor);
  if (o.size_divisor < 1) throw Error(node.where("size_divisor") + ": expected an integer >= 1");
  for (const char* key : {"mean", "std"}) {
    auto& dst = std::string(key) == "mean" ? o.mean : o.std;
    const auto v = node.get_double_list(key, {dst[0], dst[1], dst[2]});
    if (v.size() != 3) throw Error(node.where(key) + ": expected 3 numbers (R, G, B) for images scaled to 0..1");
    for (size_t c = 0; c < 3; ++c) {
      if (std::string(key) == "std" && !(v[c] > 0)) throw Error(node.where(key) + ": expected numbers > 0");
      dst[c] = v[c];
    }
  }
  return o;
}

int64_t round_up(int64_t v, int64_t d) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(v) / static_cast<double>(d))) * d;
}

}  // namespace

std::array<int, 2> rcnn_resized_size(std::array<int, 2> size, int min_size, int max_size, double* scale_out) {
  // torchvision: float32 tensors min/max of the shape, python-float sizes divided by them; a
  // Python number divided by a tensor is Tensor.__rtruediv__, reciprocal() * number, which rounds
  // differently from a division (800 / 480: 1.66666675 rather than 1.66666663, so 800 rows, not 799).
  const float short_side = static_cast<float>(std::min(size[0], size[1]));
  const float long_side = static_cast<float>(std::max(size[0], size[1]));
  const float by_short = (1.0f / short_side) * static_cast<float>(min_size);
  const float by_long = (1.0f / long_side) * static_cast<float>(max_size);
  const float scale = std::min(by_short, by_long);
  if (scale_out) *scale_out = static_cast<double>(scale);
  // F.interpolate(recompute_scale_factor=True): floor(float(size) * scale_factor) in double.
  return {static_cast<int>(std::floor(static_cast<double>(size[0]) * static_cast<double>(scale))),
          static_cast<int>(std::floor(static_cast<double>(size[1]) * static_cast<double>(scale)))};
}

std::pair<ImageBatch, std::vector<InstanceTargets>> MaskRCNN::transform(
    const ImageBatch& batch, const std::vector<InstanceTargets>* targets) const {
  const RCNNTransformOptions& o = options_.transform;
  const auto f32 = batch.images.options().dtype(torch::kFloat32);
  const torch::Tensor mean = torch::tensor({o.mean[0], o.mean[1], o.mean[2]}, f32).view({-1, 1, 1});
  const torch::Tensor std = torch::tensor({o.std[0], o.std[1], o.std[2]}, f32).view({-1, 1, 1});
  std::vector<torch::Tensor> images;
  std::vector<InstanceTargets> out_targets;
  ImageBatch out;
  out.original_sizes = batch.original_sizes;
  out.image_ids = batch.image_ids;
  out.flipped = batch.flipped;
  for (int64_t i = 0; i < batch.size(); ++i) {
    const auto& size = batch.image_sizes[static_cast<size_t>(i)];
    const torch::Tensor raw = batch.images[i].slice(1, 0, size[0]).slice(2, 0, size[1]);
    const torch::Tensor normalised = (raw.to(torch::kFloat32) / 255.0 - mean) / std;
    // torchvision draws the training size with torch_choice: uniform_(0, n) on the default generator.
    int min_size = o.min_size.back();
    if (is_training() && targets != nullptr) {
      const float pick = torch::empty({1}).uniform_(0.0, static_cast<double>(o.min_size.size())).item<float>();
      min_size = o.min_size[static_cast<size_t>(pick)];
    }
    const std::array<int, 2> resized = rcnn_resized_size(size, min_size, o.max_size);
    images.push_back(at::upsample_bilinear2d(normalised.unsqueeze(0), {resized[0], resized[1]},
                                             /*align_corners=*/false, c10::nullopt, c10::nullopt)[0]);
    out.image_sizes.push_back(resized);
    if (targets == nullptr) continue;
    const InstanceTargets& t = (*targets)[static_cast<size_t>(i)];
    InstanceTargets r;
    r.labels = t.labels;
    r.boxes = resize_boxes_to_original(t.boxes, size, resized);  // the ratio resized / size
    if (t.masks.defined()) {
      const torch::Tensor m = t.masks.slice(1, 0, size[0]).slice(2, 0, size[1]);
      r.masks = m.size(0) == 0 ? torch::zeros({0, resized[0], resized[1]}, m.options())
                               : at::upsample_nearest2d(m.unsqueeze(1).to(torch::kFloat32), {resized[0], resized[1]},
                                                        c10::nullopt, c10::nullopt)
                                     .select(1, 0)
                                     .to(torch::kByte);
    }
    out_targets.push_back(std::move(r));
  }
  // torchvision's batch_images: zero padding to the largest size, rounded up to size_divisor.
  int64_t h = 0, w = 0;
  for (const auto& s : out.image_sizes) h = std::max<int64_t>(h, s[0]), w = std::max<int64_t>(w, s[1]);
  h = round_up(h, o.size_divisor), w = round_up(w, o.size_divisor);
  out.images = torch::zeros({batch.size(), 3, h, w}, f32);
  for (size_t i = 0; i < images.size(); ++i)
    out.images[static_cast<int64_t>(i)].slice(1, 0, images[i].size(1)).slice(2, 0, images[i].size(2)).copy_(images[i]);
  for (auto& t : out_targets)
    if (t.masks.defined())
      t.masks = torch::constant_pad_nd(t.masks, {0, w - t.masks.size(2), 0, h - t.masks.size(1)}, 0);
  return {out, out_targets};
}

MaskRCNNOptions mask_rcnn_options_from_config(const ConfigNode& model, int num_classes) {
  model.allow({"type", "num_classes", "transform", "backbone", "neck", "rpn", "roi_heads", "test"});
  MaskRCNNOptions o;
  o.num_classes = num_classes;
  o.transform = transform_options_from_config(model.child("transform"));
  o.backbone = backbone_options_from_config(model.child("backbone"));
  o.neck.layout = "torchvision";
  const ConfigNode neck = model.child("neck");
  const FPNOptions read = fpn_options_from_config(neck);
  o.neck.out_channels = read.out_channels;
  o.neck.num_outs = read.num_outs;
  if (neck.has("layout")) o.neck.layout = read.layout;
  o.rpn = rpn_options_from_config(model.child("rpn"));
  roi_heads_options_from_config(model.child("roi_heads"), model.child("test"), o.roi_heads);
  return o;
}

BackboneWithFPNImpl::BackboneWithFPNImpl(std::shared_ptr<Backbone> b, const FPNOptions& options) {
  body = register_module("body", std::move(b));
  FPNOptions o = options;
  o.in_channels = body->out_channels();
  fpn = register_module("fpn", FPN(o));
}

MaskRCNN::MaskRCNN(MaskRCNNOptions options) : options_(std::move(options)) {
  if (options_.num_classes < 1) throw Error("Mask R-CNN: num_classes must be positive");
  backbone = register_module("backbone", BackboneWithFPN(build_backbone(options_.backbone), options_.neck));
  const auto levels = static_cast<size_t>(options_.neck.num_outs);
  if (options_.rpn.anchors.sizes.size() != levels)
    throw Error("Mask R-CNN: model.rpn.anchor_sizes has " + std::to_string(options_.rpn.anchors.sizes.size()) +
                " sizes but the FPN gives " + std::to_string(levels) + " levels (model.neck.num_outs)");
  if (levels < 4) throw Error("Mask R-CNN: the RoI heads pool from P2..P5, so model.neck.num_outs must be >= 4");
  rpn = register_module("rpn", RPN(options_.rpn, options_.neck.out_channels));
  options_.roi_heads.num_classes = options_.num_classes;
  options_.roi_heads.in_channels = options_.neck.out_channels;
  roi_heads = register_module("roi_heads", RoIHeads(options_.roi_heads));
}

torch::Tensor MaskRCNN::anchors_for(std::array<int, 2> image_size) const {
  const RCNNTransformOptions& o = options_.transform;
  const std::array<int, 2> resized = rcnn_resized_size(image_size, o.min_size.back(), o.max_size);
  const int64_t h = round_up(resized[0], o.size_divisor), w = round_up(resized[1], o.size_divisor);
  // Feature sizes of a ResNet + FPN on [h, w]: each stride-2 step rounds up (3x3 convs with
  // padding 1, the stem's 7x7 pad 3 and max-pool pad 1, the extra level's max_pool2d(1, 2)).
  std::vector<std::array<int64_t, 2>> grids;
  int64_t gh = h, gw = w;
  for (int step = 0; step < 2; ++step) gh = (gh + 1) / 2, gw = (gw + 1) / 2;  // stem: stride 4
  for (int64_t l = 0; l < options_.neck.num_outs; ++l) {
    grids.push_back({gh, gw});
    gh = (gh + 1) / 2, gw = (gw + 1) / 2;
  }
  return rpn->anchor_generator().anchors({h, w}, grids);
}

std::vector<std::array<int64_t, 2>> batch_image_sizes(const ImageBatch& batch) {
  std::vector<std::array<int64_t, 2>> sizes;
  for (const auto& s : batch.image_sizes) sizes.push_back({s[0], s[1]});
  return sizes;
}

torch::Tensor resize_boxes_to_original(const torch::Tensor& boxes, std::array<int, 2> resized,
                                       std::array<int, 2> original) {
  const auto f32 = boxes.options().dtype(torch::kFloat32);
  const torch::Tensor ratio_h = torch::tensor(static_cast<float>(original[0]), f32) /
                                torch::tensor(static_cast<float>(resized[0]), f32);
  const torch::Tensor ratio_w = torch::tensor(static_cast<float>(original[1]), f32) /
                                torch::tensor(static_cast<float>(resized[1]), f32);
  const auto c = boxes.unbind(1);
  return torch::stack({c[0] * ratio_w, c[1] * ratio_h, c[2] * ratio_w, c[3] * ratio_h}, 1);
}

LossTerms MaskRCNN::losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) {
  if (targets.size() != static_cast<size_t>(batch.size()))
    throw Error("Mask R-CNN: " + std::to_string(targets.size()) + " targets for " + std::to_string(batch.size()) +
                " images");
  const auto [images, resized_targets] = transform(batch, &targets);
  return losses_transformed(images, resized_targets);
}

LossTerms MaskRCNN::losses_transformed(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) {
  const auto sizes = batch_image_sizes(batch);
  const std::vector<torch::Tensor> features = backbone->forward(batch.images);
  LossTerms rpn_losses, head_losses;
  const Proposals proposals = rpn->forward(batch.images, sizes, features, &targets, &rpn_losses);
  roi_heads->forward(features, proposals.boxes, sizes, &targets, &head_losses);
  // torchvision's order: the RoI heads' losses, then the RPN's.
  head_losses.insert(head_losses.end(), rpn_losses.begin(), rpn_losses.end());
  return head_losses;
}

std::vector<RoIDetections> MaskRCNN::detect(const ImageBatch& batch) {
  const auto sizes = batch_image_sizes(batch);
  const std::vector<torch::Tensor> features = backbone->forward(batch.images);
  const Proposals proposals = rpn->forward(batch.images, sizes, features, nullptr, nullptr);
  return roi_heads->forward(features, proposals.boxes, sizes, nullptr, nullptr);
}

std::vector<Instances> MaskRCNN::predict(const ImageBatch& input) {
  const ImageBatch batch = transform(input, nullptr).first;
  std::vector<RoIDetections> dets = detect(batch);
  std::vector<Instances> out;
  for (size_t i = 0; i < dets.size(); ++i) {
    const auto& original = batch.original_sizes[i];
    RoIDetections& d = dets[i];
    Instances inst;
    inst.boxes = resize_boxes_to_original(d.boxes, batch.image_sizes[i], original);
    inst.scores = d.scores;
    inst.labels = d.labels - 1;  // torchvision label c + 1 -> class index c
    inst.masks = paste_masks_in_image(d.mask_probs, inst.boxes, original[0], original[1])
                     .select(1, 0)
                     .gt(options_.roi_heads.mask_thresh);
    out.push_back(std::move(inst));
  }
  return out;
}

}  // namespace studio
