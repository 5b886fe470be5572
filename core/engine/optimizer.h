#pragma once
// The optimiser of a training run, from the recipe's `train.optimizer` section:
//   type: sgd    momentum, weight_decay (the detection recipes, as mmdetection)
//   type: adamw  betas, weight_decay (small from-scratch recipes)
// Weight decay applies to every parameter, as mmdetection's default; norm_decay: false leaves the
// normalisation layers' weights and biases out (MindSpore's default filter: no decay on BN's gamma
// and beta). The learning rate is the
// schedule's (lr_schedule.h), set on every parameter group before each step.
#include <torch/torch.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"

namespace studio {

struct OptimizerOptions {
  std::string type = "sgd";                 // sgd | adamw
  double lr = 0.01;                         // base lr (before warmup, steps and --autoscale-lr)
  double momentum = 0.9;                    // sgd
  std::array<double, 2> betas{0.9, 0.999};  // adamw
  double weight_decay = 1e-4;
  bool norm_decay = true;                   // false: no weight decay on BatchNorm / GroupNorm weights and biases
};

// `optimizer` is train.optimizer (keys type, lr, momentum, weight_decay, betas, norm_decay). Unknown keys and
// bad values are studio::Error naming the recipe file, line and key.
[[nodiscard]] OptimizerOptions optimizer_options_from_config(const ConfigNode& optimizer);

// torch::optim::SGD or AdamW over `parameters` with the options' lr.
[[nodiscard]] std::unique_ptr<torch::optim::Optimizer> build_optimizer(std::vector<torch::Tensor> parameters,
                                                                       const OptimizerOptions& options);

// The same over `model`'s parameters; with norm_decay false, two groups: the others (decayed) and
// the normalisation layers' (weight decay 0).
[[nodiscard]] std::unique_ptr<torch::optim::Optimizer> build_optimizer(const torch::nn::Module& model,
                                                                       const OptimizerOptions& options);

// The learning rate of every parameter group, and the first group's.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);
[[nodiscard]] double learning_rate(torch::optim::Optimizer& optimizer);

}  // namespace studio
