#pragma once
// What the trainer and inference see of a model: a torch module that turns a batch into loss
// terms (training) or per-image instances (inference). Meta-architectures (meta_arch/solov2.h,
// later Mask R-CNN and SSD) implement it from finished parts: backbone, neck, head.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "modeling/structures.h"

namespace studio {

class Detector : public torch::nn::Module {
 public:
  ~Detector() override = default;

  // Training step: loss terms for `batch` (targets[i] belongs to image i). Call in train() mode.
  virtual LossTerms losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) = 0;

  // Inference: one Instances per image, at its original size. Call in eval() mode under NoGradGuard.
  virtual std::vector<Instances> predict(const ImageBatch& batch) = 0;

  // The number of classes the model predicts (contiguous indices 0..C-1).
  [[nodiscard]] virtual int num_classes() const = 0;

  // True when losses() needs instance masks in its targets (SOLOv2, Mask R-CNN): the trainer
  // refuses a box-only dataset for it before training starts.
  [[nodiscard]] virtual bool needs_masks() const { return false; }
  // True when losses() uses the masks a dataset has; false for box-only models (the SSDs), whose
  // loader then rasterises none.
  [[nodiscard]] virtual bool uses_masks() const { return needs_masks(); }

  // Name of the child module holding the backbone, whose parameters ImageNet weights fill
  // (the prefix of its keys in the state dict, "backbone").
  [[nodiscard]] virtual std::string backbone_name() const { return "backbone"; }

  // Anchor-based models: the anchors (or priors) [A, 4] x1, y1, x2, y2 the model uses for an
  // input image of `image_size` (h, w) as the file has it, in input coordinates after the
  // model's resize and padding, in the model's order. Undefined for anchor-free models.
  [[nodiscard]] virtual torch::Tensor anchors_for(std::array<int, 2> image_size) const {
    (void)image_size;
    return {};
  }

  // Data-parallel training: how losses() shares its count normalisers over the ranks (see
  // CountReducer in structures.h). The trainer sets it when it has a process group.
  virtual void set_count_reducer(CountReducer reducer) { count_reducer_ = std::move(reducer); }
  [[nodiscard]] const CountReducer& count_reducer() const { return count_reducer_; }

 protected:
  CountReducer count_reducer_;
};

using DetectorPtr = std::shared_ptr<Detector>;

}  // namespace studio
