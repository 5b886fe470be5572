#include "modeling/meta_arch/ssd_lite.h"

#include <algorithm>
#include <cmath>

#include <ATen/autocast_mode.h>

#include "common/error.h"
#include "modeling/layers/resize.h"
#include "modeling/weights/weight_import.h"

namespace studio {
namespace {

// A Sequential with a typed forward, so that it can sit in another Sequential (AnyModule needs one):
// the reference's flat nn.Sequential blocks, whose children are named 0, 1, 2...
class FlatImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(Flat);

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups, bool bias) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding((k - 1) / 2).groups(groups).bias(bias));
}

// conv (no bias) + BatchNorm + ReLU6: the reference's conv_bn (3x3) and conv_1x1_bn.
Flat conv_bn_relu6(int64_t in, int64_t out, int64_t k, int64_t stride) {
  Flat f;
  f->push_back(conv(in, out, k, stride, 1, false));
  f->push_back(torch::nn::BatchNorm2d(out));
  f->push_back(torch::nn::ReLU6());
  return f;
}

// The reference's InvertedResidual: one flat Sequential `conv` (pw expand, BN, ReLU6, dw, BN,
// ReLU6, pw linear, BN; without the expansion when the ratio is 1), hidden width round(in * ratio),
// a residual when the stride is 1 and in == out.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, double expand_ratio)
      : use_residual_(stride == 1 && in == out) {
    // Python's round() halves to even; in * ratio is never a half here (the ratios are 1, 6, 0.2,
    // 0.25, 0.5 on multiples of 64 or 16).
    const auto hidden = static_cast<int64_t>(std::llround(static_cast<double>(in) * expand_ratio));
    conv_ = Flat();
    if (expand_ratio != 1.0) {
      conv_->push_back(conv(in, hidden, 1, 1, 1, false));
      conv_->push_back(torch::nn::BatchNorm2d(hidden));
      conv_->push_back(torch::nn::ReLU6());
    }
    conv_->push_back(conv(hidden, hidden, 3, stride, hidden, false));
    conv_->push_back(torch::nn::BatchNorm2d(hidden));
    conv_->push_back(torch::nn::ReLU6());
    conv_->push_back(conv(hidden, out, 1, 1, 1, false));
    conv_->push_back(torch::nn::BatchNorm2d(out));
    register_module("conv", conv_);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = conv_->forward(x);
    return use_residual_ ? x + y : y;
  }

  // conv's children [begin, end) only (the tap inside block 14); no residual.
  torch::Tensor forward_part(torch::Tensor x, size_t begin, size_t end) {
    for (size_t i = begin; i < std::min(end, conv_->size()); ++i)
      x = (conv_->begin() + static_cast<std::ptrdiff_t>(i))->forward(x);
    return x;
  }

 private:
  bool use_residual_;
  Flat conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

// The reference's SeperableConv2d: depthwise 3x3 (pad 1, with bias), BN, ReLU6, pointwise 1x1 (bias).
Flat separable(int64_t in, int64_t out) {
  Flat f;
  f->push_back(conv(in, in, 3, 1, in, true));
  f->push_back(torch::nn::BatchNorm2d(in));
  f->push_back(torch::nn::ReLU6());
  f->push_back(conv(in, out, 1, 1, 1, true));
  return f;
}

torch::Tensor run_header(const std::shared_ptr<torch::nn::Module>& m, const torch::Tensor& x) {
  if (auto* f = m->as<FlatImpl>()) return f->forward(x);
  return m->as<torch::nn::Conv2dImpl>()->forward(x);
}

}  // namespace

SSDLiteOptions ssd_lite_options_from_config(const ConfigNode& model, int num_classes) {
  model.allow({"type", "num_classes", "image_size", "mean", "std", "match_iou", "neg_pos_ratio", "channels_last_train",
               "pretrained_base", "test"});
  SSDLiteOptions o;
  o.num_classes = num_classes;
  o.image_size = model.get_int("image_size", o.image_size);
  if (o.image_size != 300)
    throw Error(model.where("image_size") + ": the MobileNetV2-SSDLite priors are defined for 300 (got " +
                std::to_string(o.image_size) + ")");
  o.mean = model.get_double("mean", o.mean);
  o.std = model.get_double("std", o.std);
  if (!(o.std > 0)) throw Error(model.where("std") + ": expected a positive number");
  o.match_iou = model.get_double("match_iou", o.match_iou);
  if (!(o.match_iou > 0 && o.match_iou <= 1)) throw Error(model.where("match_iou") + ": expected a value in (0, 1]");
  o.neg_pos_ratio = model.get_int("neg_pos_ratio", o.neg_pos_ratio);
  if (o.neg_pos_ratio < 0) throw Error(model.where("neg_pos_ratio") + ": expected 0 or more");
  o.channels_last_train = model.get_bool("channels_last_train", o.channels_last_train);
  o.pretrained_base = model.get_path("pretrained_base", "");
  const ConfigNode test = model.child("test");
  test.allow({"score_thr", "nms_thr", "candidate_size", "max_per_img"});
  o.test.score_thr = test.get_double("score_thr", o.test.score_thr);
  if (!(o.test.score_thr >= 0 && o.test.score_thr < 1))
    throw Error(test.where("score_thr") + ": expected a value in [0, 1)");
  o.test.nms_thr = test.get_double("nms_thr", o.test.nms_thr);
  if (!(o.test.nms_thr > 0 && o.test.nms_thr <= 1)) throw Error(test.where("nms_thr") + ": expected a value in (0, 1]");
  o.test.candidate_size = test.get_int("candidate_size", o.test.candidate_size);
  if (o.test.candidate_size < 1) throw Error(test.where("candidate_size") + ": expected a positive number");
  o.test.max_per_img = test.get_int("max_per_img", o.test.max_per_img);
  if (o.test.max_per_img < 0) throw Error(test.where("max_per_img") + ": expected 0 (no cap) or more");
  return o;
}

SSDLite::SSDLite(SSDLiteOptions options) : options_(std::move(options)) {
  if (options_.num_classes < 1) throw Error("ssd_lite: num_classes must be positive");
  // base_net: MobileNetV2's features (width 1.0), the reference's table of (t, c, n, s).
  const int settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  base_net = torch::nn::Sequential();
  base_net->push_back(conv_bn_relu6(3, 32, 3, 2));
  int64_t in = 32;
  for (const auto& s : settings)
    for (int i = 0; i < s[2]; ++i) {
      base_net->push_back(InvertedResidual(in, s[1], i == 0 ? s[3] : 1, s[0]));
      in = s[1];
    }
  base_net->push_back(conv_bn_relu6(in, 1280, 1, 1));
  register_module("base_net", base_net);

  extras = torch::nn::ModuleList();
  extras->push_back(InvertedResidual(1280, 512, 2, 0.2));
  extras->push_back(InvertedResidual(512, 256, 2, 0.25));
  extras->push_back(InvertedResidual(256, 256, 2, 0.5));
  extras->push_back(InvertedResidual(256, 64, 2, 0.25));
  register_module("extras", extras);

  const int64_t classes = options_.num_classes + 1;
  classification_headers = torch::nn::ModuleList();
  regression_headers = torch::nn::ModuleList();
  for (int64_t channels : {576, 1280, 512, 256, 256}) {
    regression_headers->push_back(separable(channels, 6 * 4));
    classification_headers->push_back(separable(channels, 6 * classes));
  }
  regression_headers->push_back(conv(64, 6 * 4, 1, 1, 1, true));
  classification_headers->push_back(conv(64, 6 * classes, 1, 1, 1, true));
  register_module("regression_headers", regression_headers);
  register_module("classification_headers", classification_headers);

  // The reference's initialisation when training from an ImageNet base net: MobileNetV2's own
  // (convs N(0, sqrt(2 / (k * k * out))), BN 1 / 0) in base_net, Xavier-uniform conv weights in the
  // extras and heads (biases keep the default).
  torch::NoGradGuard no_grad;
  for (auto& m : base_net->modules(false))
    if (auto* c = m->as<torch::nn::Conv2dImpl>()) {
      const double n = static_cast<double>(c->options.kernel_size()->at(0) * c->options.kernel_size()->at(1) *
                                           c->options.out_channels());
      c->weight.normal_(0, std::sqrt(2.0 / n));
    }
  for (auto* list : {&extras, &classification_headers, &regression_headers})
    for (auto& m : (*list)->modules(false))
      if (auto* c = m->as<torch::nn::Conv2dImpl>()) torch::nn::init::xavier_uniform_(c->weight);

  if (!options_.pretrained_base.empty()) {
    const std::string& path = options_.pretrained_base;
    const ImportReport r =
        import_entries(*this, mobilenet_v2_as_ssd_base(read_pth(path), path), "mb2_ssd_lite", "base_net.");
    if (!r.ok() || !r.unexpected.empty())
      throw Error(path + " (model.pretrained_base): does not fit SSDLite's base_net: " + r.summary());
  }

  priors_ = ssd_priors(options_.priors, options_.image_size, options_.clamp_priors);
  if (priors_.size(0) != 3000) throw Error("ssd_lite: the prior specs give " + std::to_string(priors_.size(0)) +
                                           " priors where the heads predict 3000");
}

torch::Tensor SSDLite::normalise(const ImageBatch& batch) const {
  const int64_t s = options_.image_size;
  const torch::Tensor& images = batch.images;
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3)
    throw Error("ssd_lite: expected images [B, 3, H, W]");
  const torch::Tensor x = resize_images_to_square(images, batch.image_sizes, s);
  return (x - options_.mean) / options_.std;
}

std::pair<torch::Tensor, torch::Tensor> SSDLite::forward(const torch::Tensor& normalised, bool channels_last) {
  const int64_t classes = options_.num_classes + 1;
  std::vector<torch::Tensor> confidences, locations;
  size_t header = 0;
  const auto heads = [&](const torch::Tensor& y) {
    const int64_t b = y.size(0);
    confidences.push_back(run_header(classification_headers->ptr(header), y).permute({0, 2, 3, 1}).contiguous().view(
        {b, -1, classes}));
    locations.push_back(
        run_header(regression_headers->ptr(header), y).permute({0, 2, 3, 1}).contiguous().view({b, -1, 4}));
    ++header;
  };
  // channels_last on the CPU: NHWC, which oneDNN convolves as it is (NCHW costs a reorder around every
  // convolution), and the heads' NHWC permute is then free. A training step of 16 images: 0.75 s
  // against 1.55 s NCHW (2 threads, float32, bench_ssd_lite). Rounding differs from NCHW: at float32
  // the training gradients of this model are ill-conditioned (hard negative mining, BatchNorm on
  // batch statistics), so they differ by a few percent between the two layouts in the reference
  // itself too; in float64 they agree to 1e-12 (test_ssd_lite).
  const bool nhwc = channels_last && normalised.is_cpu() && normalised.dim() == 4 &&
                    normalised.is_floating_point() && normalised.scalar_type() != torch::kBFloat16 &&
                    !at::autocast::is_cpu_enabled();
  torch::Tensor x = nhwc ? normalised.contiguous(at::MemoryFormat::ChannelsLast) : normalised;
  for (size_t i = 0; i < 14; ++i) x = (base_net->begin() + static_cast<std::ptrdiff_t>(i))->forward(x);
  // Tap 0: block 14's expansion (pw conv, BN, ReLU6), before its stride-2 depthwise conv.
  auto* block14 = base_net->ptr(14)->as<InvertedResidualImpl>();
  const torch::Tensor tap = block14->forward_part(x, 0, 3);
  heads(tap);
  x = block14->forward_part(tap, 3, 8);
  for (size_t i = 15; i < base_net->size(); ++i) x = (base_net->begin() + static_cast<std::ptrdiff_t>(i))->forward(x);
  heads(x);
  for (size_t i = 0; i < extras->size(); ++i) {
    x = extras->ptr(i)->as<InvertedResidualImpl>()->forward(x);
    heads(x);
  }
  return {torch::cat(confidences, 1), torch::cat(locations, 1)};
}

LossTerms SSDLite::losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) {
  if (static_cast<int64_t>(targets.size()) != batch.size())
    throw Error("ssd_lite: expected one target per image");
  const auto [confidence, locations] = forward(normalise(batch), options_.channels_last_train);
  const int64_t num_priors = priors_.size(0);
  const torch::Tensor priors = priors_.to(confidence.device());
  std::vector<torch::Tensor> labels, gt_locations;
  for (size_t i = 0; i < targets.size(); ++i) {
    const InstanceTargets& t = targets[i];
    if (t.size() == 0) {  // no objects: every prior is background
      labels.push_back(torch::zeros({num_priors}, torch::dtype(torch::kLong).device(confidence.device())));
      gt_locations.push_back(torch::zeros({num_priors, 4}, confidence.options()));
      continue;
    }
    const auto size = i < batch.image_sizes.size() ? batch.image_sizes[i]
                                                   : std::array<int, 2>{static_cast<int>(batch.images.size(2)),
                                                                        static_cast<int>(batch.images.size(3))};
    const torch::Tensor scale =
        torch::tensor({static_cast<float>(size[1]), static_cast<float>(size[0]), static_cast<float>(size[1]),
                       static_cast<float>(size[0])})
            .to(confidence.device());
    const torch::Tensor relative = t.boxes.to(confidence.device(), torch::kFloat) / scale;
    auto [loc, lab] = ssd_match(relative, t.labels.to(confidence.device(), torch::kLong) + 1, priors,
                                options_.match_iou, options_.center_variance, options_.size_variance);
    gt_locations.push_back(loc);
    labels.push_back(lab);
  }
  const MultiBoxLoss loss =
      multibox_loss(confidence, locations, torch::stack(labels), torch::stack(gt_locations), options_.neg_pos_ratio);
  torch::Tensor regression = loss.regression, classification = loss.classification;
  const double local = static_cast<double>(loss.num_pos);
  const double normaliser = count_reducer_.normaliser(local);
  if (local == 0 || normaliser <= 0) {
    // No positive prior in this batch: the reference divides 0 by 0 (NaN). Nothing is mined either
    // (negatives are 3 per positive): zero losses that keep the graph.
    regression = locations.sum() * 0;
    classification = confidence.sum() * 0;
  } else if (normaliser != local) {  // data-parallel: divide by the ranks' mean count instead
    regression = regression * (local / normaliser);
    classification = classification * (local / normaliser);
  }
  return {{"loss_regression", regression}, {"loss_classification", classification}};
}

Instances SSDLite::postprocess(const torch::Tensor& probs, const torch::Tensor& boxes,
                               std::array<int, 2> original_size) const {
  std::vector<torch::Tensor> kept_boxes, kept_scores, kept_labels;
  for (int64_t c = 1; c < probs.size(1); ++c) {
    const torch::Tensor p = probs.select(1, c);
    const torch::Tensor mask = p > options_.test.score_thr;
    const torch::Tensor candidates = p.index({mask});
    if (candidates.size(0) == 0) continue;
    const torch::Tensor subset = boxes.index({mask});
    const torch::Tensor keep =
        ssd_hard_nms(subset, candidates, options_.test.nms_thr, -1, options_.test.candidate_size);
    kept_boxes.push_back(subset.index({keep}));
    kept_scores.push_back(candidates.index({keep}));
    kept_labels.push_back(torch::full({keep.size(0)}, c - 1, torch::dtype(torch::kLong).device(probs.device())));
  }
  if (kept_boxes.empty()) return empty_instances(original_size, false, probs.options());
  Instances out;
  torch::Tensor b = torch::cat(kept_boxes);
  // Scaled as the reference does: x by the width, y by the height, in float32.
  b = b * torch::tensor({static_cast<float>(original_size[1]), static_cast<float>(original_size[0]),
                         static_cast<float>(original_size[1]), static_cast<float>(original_size[0])})
              .to(b.device(), b.scalar_type());
  const torch::Tensor scores = torch::cat(kept_scores), labels = torch::cat(kept_labels);
  // By score, highest first (stable: equal scores keep the reference's class-then-NMS order).
  torch::Tensor order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  if (options_.test.max_per_img > 0 && order.size(0) > options_.test.max_per_img)
    order = order.slice(0, 0, options_.test.max_per_img);
  out.boxes = b.index({order});
  out.scores = scores.index({order});
  out.labels = labels.index({order});
  return out;
}

std::vector<Instances> SSDLite::predict(const ImageBatch& batch) {
  const auto [confidence, locations] = forward(normalise(batch));
  const torch::Tensor probs = torch::softmax(confidence, 2);
  const torch::Tensor boxes =
      center_to_corner(ssd_decode(locations, priors_.to(locations.device()), options_.center_variance,
                                  options_.size_variance));
  std::vector<Instances> out;
  for (int64_t b = 0; b < batch.size(); ++b) {
    const auto size = static_cast<size_t>(b) < batch.original_sizes.size()
                          ? batch.original_sizes[static_cast<size_t>(b)]
                          : std::array<int, 2>{options_.image_size, options_.image_size};
    out.push_back(postprocess(probs[b].cpu(), boxes[b].cpu(), size));
  }
  return out;
}

torch::Tensor SSDLite::anchors_for(std::array<int, 2> image_size) const {
  (void)image_size;  // every image is resized to the image_size square
  return center_to_corner(priors_) * static_cast<double>(options_.image_size);
}

}  // namespace studio
