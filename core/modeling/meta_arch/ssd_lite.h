#pragma once
// SSD-MobileNetV2-Lite, exact to qfgaohao's pytorch-ssd (`mb2-ssd-lite`,
// vision/ssd/mobilenet_v2_ssd_lite.py): the MobileNetV2 `base_net` (ReLU6, trainable BatchNorm),
// two taps (block 14's expansion output, 576 channels at 19x19, and the 1280-channel end), four
// inverted-residual extras, and SSDLite heads (depthwise 3x3 with bias -> BN -> ReLU6 -> 1x1, a plain
// 1x1 on the last map) giving 6 priors a cell: [B, 3000, C + 1] logits (0 = background) and
// [B, 3000, 4] offsets. Module names are the reference's (base_net.N..., extras.N.conv.M,
// classification_headers.N.M, regression_headers.N.M), so its state dicts load key for key.
//
// Input: images at image_size x image_size with values 0..255 (the loader resizes, without keeping
// the aspect ratio, as the reference's cv2.resize); the model normalises (x - mean) / std. A batch
// of another size is resized here bilinearly (align_corners false) first. Targets in input
// pixels. Training: the reference's MatchPrior (IoU 0.5, best-prior forcing) and MultiboxLoss
// (3:1 hard negatives); predict(): softmax, per class hard NMS over the 200 best above score_thr,
// boxes scaled to the original size (modeling/ops/ssd_box_utils).
//
// Class indices 0..C-1 are the reference's labels 1..C.
#include <array>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "modeling/detector.h"
#include "modeling/ops/ssd_box_utils/ssd_box_utils.h"

namespace studio {

struct SSDLiteTestOptions {
  double score_thr = 0.01;    // the reference's filter_threshold: probabilities above it enter NMS
  double nms_thr = 0.45;      // hard NMS keeps IoU <= this
  int candidate_size = 200;   // per class, the best this many enter NMS
  int max_per_img = 0;        // after NMS, the best this many over all classes; 0: all (the reference)
};

struct SSDLiteOptions {
  int num_classes = 20;  // object classes; the heads predict num_classes + 1 (background first)
  int image_size = 300;
  double mean = 127.0, std = 128.0;  // on 0..255 values, every channel
  std::vector<SsdPriorSpec> priors = mobilenet_ssd_prior_specs();
  bool clamp_priors = true;
  double center_variance = 0.1, size_variance = 0.2;
  double match_iou = 0.5;  // priors below it (and not a box's best) are background
  int neg_pos_ratio = 3;
  // Training on the CPU runs channels-last (twice as fast; float32 rounding differs from the
  // reference's NCHW run). Inference always runs the reference's NCHW: its outputs and detections
  // are the reference's to the bit.
  bool channels_last_train = true;
  // An ImageNet MobileNetV2 for base_net (torchvision's mobilenet_v2 .pth or pytorch-ssd's own;
  // weights/weight_import.h): the reference's --base_net. Empty: base_net starts from its init.
  std::string pretrained_base;
  SSDLiteTestOptions test;
};

// model: {type: ssd_mobilenetv2_lite, num_classes, image_size, mean, std, match_iou, neg_pos_ratio,
//         channels_last_train, pretrained_base, test: {score_thr, nms_thr, candidate_size, max_per_img}}.
[[nodiscard]] SSDLiteOptions ssd_lite_options_from_config(const ConfigNode& model, int num_classes);

class SSDLite : public Detector {
 public:
  explicit SSDLite(SSDLiteOptions options);

  LossTerms losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) override;
  std::vector<Instances> predict(const ImageBatch& batch) override;
  [[nodiscard]] int num_classes() const override { return options_.num_classes; }
  [[nodiscard]] std::string backbone_name() const override { return "base_net"; }
  // The 3000 priors in corner form, in input pixels of the image_size square (any image is resized
  // to it), in the order of the heads' outputs.
  [[nodiscard]] torch::Tensor anchors_for(std::array<int, 2> image_size) const override;

  // The network on a normalised batch [B, 3, S, S]: {logits [B, P, C + 1], offsets [B, P, 4]};
  // channels_last: run NHWC on the CPU (see SSDLiteOptions::channels_last_train).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& normalised, bool channels_last = false);
  // The batch resized to image_size (when it is not) and normalised.
  [[nodiscard]] torch::Tensor normalise(const ImageBatch& batch) const;
  // The reference's Predictor after its transform: probabilities [P, C + 1] and corner boxes [P, 4]
  // relative to the image -> detections scaled to (height, width), labels 0..C-1, in the order
  // the reference returns them (by class, then as NMS kept them), then capped by max_per_img.
  [[nodiscard]] Instances postprocess(const torch::Tensor& probs, const torch::Tensor& boxes,
                                      std::array<int, 2> original_size) const;

  // Center-form priors [P, 4] relative to the image.
  [[nodiscard]] const torch::Tensor& priors() const { return priors_; }
  [[nodiscard]] const SSDLiteOptions& options() const { return options_; }

  torch::nn::Sequential base_net{nullptr};
  torch::nn::ModuleList extras{nullptr}, classification_headers{nullptr}, regression_headers{nullptr};

 private:
  SSDLiteOptions options_;
  torch::Tensor priors_;
};

}  // namespace studio
