#pragma once
// A tiny stand-in Detector for the tests of the trainer, the evaluator and data-parallel training
// (test_trainer, test_evaluator, test_distributed), so they test the engine and not SOLOv2: a real
// torch module with a few hundred parameters, cheap and deterministic, whose training and
// predictions exercise every path the engine has.
//
//   features  = relu(GroupNorm(conv3x3(image)))                       [B, C, H, W]
//   losses:   loss_cls  = binary cross-entropy of cls(mean of the features inside each target
//                         box) against its one-hot class, summed and divided by the boxes over
//                         the batch, counted over all ranks (CountReducer, as SOLOv2's positives)
//             loss_mask = BCE of fg(features) against the union of the target masks (or boxes),
//                         mean over pixels, then over the images
//   predict:  windows = the whole image and sliding windows of a quarter and a half of its
//             sides (stride half a window: 49 + 9); each window scores its pooled features with
//             cls (sigmoid: the best class and its score); its mask is the window's pixels whose colour
//             distance from the window's median colour plus sigmoid(fg) is at least halfway
//             between the window's least and greatest (a shape on the background stands out
//             before any training; fg learns to add to it); its box is the mask's tight box.
//             Box-only (masks: false): the boxes alone.
// GroupNorm normalises per image (no batch statistics), so N ranks x batch b follow 1 process x
// batch N*b; it is AutocastGroupNorm, so bf16 autocast runs through it as through SOLOv2's GN.
//
// Recipe: model: {type: fake, num_classes: K, channels: 8, masks: true, needs_masks: false}. build_model
// (model_factory.h) does not know it: tests give build_fake_detector to TrainerSetup::build_model.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "modeling/detector.h"
#include "modeling/layers/conv_norm.h"
#include "modeling/structures.h"

namespace studio::test {

struct FakeDetectorOptions {
  int num_classes = 1;
  int channels = 8;   // feature channels (GroupNorm of 2 groups)
  bool masks = true;  // false: a box-only model
  bool needs_masks = false;  // true: refuses box-only training data, as SOLOv2 and Mask R-CNN do
};

inline FakeDetectorOptions fake_detector_options_from_config(const ConfigNode& model) {
  model.allow({"type", "num_classes", "channels", "masks", "needs_masks"});
  FakeDetectorOptions o;
  o.num_classes = model.get_int("num_classes");
  o.channels = model.get_int("channels", o.channels);
  o.masks = model.get_bool("masks", o.masks);
  o.needs_masks = model.get_bool("needs_masks", o.needs_masks);
  if (o.channels < 2 || o.channels % 2 != 0)
    throw Error(model.where("channels") + ": expected an even number >= 2");
  return o;
}

class FakeDetector : public Detector {
 public:
  explicit FakeDetector(const FakeDetectorOptions& o) : options_(o) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, o.channels, 3).padding(1)));
    norm = register_module("norm", AutocastGroupNorm(torch::nn::GroupNormOptions(2, o.channels)));
    cls = register_module("cls", torch::nn::Linear(o.channels, o.num_classes));
    fg = register_module("fg", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.channels, 1, 1)));
  }

  LossTerms losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) override {
    const torch::Tensor feats = features(batch.images);      // [B, C, H, W]
    const torch::Tensor fg_logits = fg(feats).select(1, 0);  // [B, H, W]
    const std::int64_t h = feats.size(2), w = feats.size(3);
    std::vector<torch::Tensor> cls_terms, fg_terms;
    double boxes = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const InstanceTargets& t = targets[i];
      const auto n = static_cast<std::int64_t>(i);
      torch::Tensor fg_target = torch::zeros({h, w}, feats.options().dtype(torch::kFloat));
      for (std::int64_t j = 0; j < t.size(); ++j) {
        const Window win = box_window(t.boxes[j], h, w);
        const torch::Tensor logits = cls(pool(feats[n], win).unsqueeze(0)).to(torch::kFloat);
        const torch::Tensor target =
            torch::one_hot(t.labels.slice(0, j, j + 1), options_.num_classes).to(torch::kFloat);
        cls_terms.push_back(torch::nn::functional::binary_cross_entropy_with_logits(
            logits, target,
            torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kSum)));
        if (!t.masks.defined()) fg_target.slice(0, win.y0, win.y1).slice(1, win.x0, win.x1).fill_(1);
        boxes += 1;
      }
      if (t.masks.defined() && t.size() > 0) fg_target = (t.masks.sum(0) > 0).to(torch::kFloat);
      fg_terms.push_back(
          torch::nn::functional::binary_cross_entropy_with_logits(fg_logits[n].to(torch::kFloat), fg_target));
    }
    // Boxes counted over all ranks, as SOLOv2 counts its positives (CountReducer).
    const double count = std::max(1.0, count_reducer().normaliser(boxes));
    const torch::Tensor loss_cls =
        cls_terms.empty() ? cls->weight.sum() * 0 : torch::stack(cls_terms).sum() / count;
    const torch::Tensor loss_mask = torch::stack(fg_terms).mean();
    return {{"loss_cls", loss_cls}, {"loss_mask", loss_mask}};
  }

  std::vector<Instances> predict(const ImageBatch& batch) override {
    const torch::Tensor feats = features(batch.images);
    const torch::Tensor fg_prob = torch::sigmoid(fg(feats).select(1, 0).to(torch::kFloat));  // [B, H, W]
    std::vector<Instances> out;
    for (std::int64_t i = 0; i < batch.size(); ++i) {
      const auto [rh, rw] = batch.image_sizes[static_cast<std::size_t>(i)];
      const auto [oh, ow] = batch.original_sizes[static_cast<std::size_t>(i)];
      const torch::Tensor image = batch.images[i].slice(1, 0, rh).slice(2, 0, rw).to(torch::kFloat);
      const torch::Tensor f = feats[i].slice(1, 0, rh).slice(2, 0, rw);
      const torch::Tensor fg_i = fg_prob[i].slice(0, 0, rh).slice(1, 0, rw);
      std::vector<torch::Tensor> pooled, masks;
      for (const Window& win : windows(rh, rw)) {
        pooled.push_back(pool(f, win));
        const torch::Tensor pixels = image.slice(1, win.y0, win.y1).slice(2, win.x0, win.x1);  // [3, h, w]
        const torch::Tensor median = std::get<0>(pixels.reshape({3, -1}).median(1)).reshape({3, 1, 1});
        const torch::Tensor q =
            (pixels - median).abs().mean(0) + fg_i.slice(0, win.y0, win.y1).slice(1, win.x0, win.x1);
        torch::Tensor m = torch::zeros({rh, rw}, torch::kBool);
        m.slice(0, win.y0, win.y1).slice(1, win.x0, win.x1).copy_(q >= (q.min() + q.max()) / 2);
        masks.push_back(m);
      }
      const torch::Tensor probs = torch::sigmoid(cls(torch::stack(pooled)).to(torch::kFloat));
      const auto [scores, labels] = probs.max(1);
      const torch::Tensor order = scores.argsort(0, /*descending=*/true);
      torch::Tensor m = torch::stack(masks).index_select(0, order);
      if (rh != oh || rw != ow)  // to the original size, nearest neighbour
        m = torch::nn::functional::interpolate(m.unsqueeze(0).to(torch::kFloat),
                                               torch::nn::functional::InterpolateFuncOptions()
                                                   .size(std::vector<std::int64_t>{oh, ow})
                                                   .mode(torch::kNearest))
                .squeeze(0) > 0.5;
      Instances r;
      r.scores = scores.index_select(0, order).contiguous();
      r.labels = labels.index_select(0, order).contiguous();
      r.boxes = masks_to_boxes(m);
      if (options_.masks) r.masks = m.contiguous();
      out.push_back(std::move(r));
    }
    return out;
  }

  [[nodiscard]] int num_classes() const override { return options_.num_classes; }
  [[nodiscard]] bool needs_masks() const override { return options_.needs_masks; }
  [[nodiscard]] bool uses_masks() const override { return options_.masks || options_.needs_masks; }

  torch::nn::Conv2d conv{nullptr};
  AutocastGroupNorm norm{nullptr};
  torch::nn::Linear cls{nullptr};
  torch::nn::Conv2d fg{nullptr};

 private:
  struct Window {
    std::int64_t y0, x0, y1, x1;  // pixel rows y0..y1-1, columns x0..x1-1
  };

  torch::Tensor features(const torch::Tensor& images) { return torch::relu(norm(conv(images))); }

  // The whole image, then windows of a quarter and of a half of each side at strides of half a
  // window (7 x 7 and 3 x 3 of them).
  static std::vector<Window> windows(std::int64_t h, std::int64_t w) {
    std::vector<Window> out{{0, 0, h, w}};
    for (const std::int64_t k : {4, 2}) {
      const std::int64_t wh = std::max<std::int64_t>(1, h / k), ww = std::max<std::int64_t>(1, w / k);
      const std::int64_t sy = std::max<std::int64_t>(1, wh / 2), sx = std::max<std::int64_t>(1, ww / 2);
      for (std::int64_t y = 0; y + wh <= h; y += sy)
        for (std::int64_t x = 0; x + ww <= w; x += sx) out.push_back({y, x, y + wh, x + ww});
    }
    return out;
  }

  // A box x1, y1, x2, y2 as whole pixels inside [0, w) x [0, h), at least one each way.
  static Window box_window(const torch::Tensor& box, std::int64_t h, std::int64_t w) {
    const torch::Tensor b = box.to(torch::kCPU, torch::kDouble).contiguous();
    const double* v = b.data_ptr<double>();
    const std::int64_t x0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(v[0])), 0, w - 1);
    const std::int64_t y0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(v[1])), 0, h - 1);
    const std::int64_t x1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(v[2])), x0 + 1, w);
    const std::int64_t y1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(v[3])), y0 + 1, h);
    return {y0, x0, y1, x1};
  }

  // The mean feature inside a window of one image's features [C, H, W] -> [C].
  static torch::Tensor pool(const torch::Tensor& f, const Window& win) {
    return f.slice(1, win.y0, win.y1).slice(2, win.x0, win.x1).mean({1, 2});
  }

  FakeDetectorOptions options_;
};

// For TrainerSetup::build_model and evaluate_checkpoint (run_checks.h).
inline DetectorPtr build_fake_detector(const ConfigNode& model) {
  return std::make_shared<FakeDetector>(fake_detector_options_from_config(model));
}

}  // namespace studio::test
