#pragma once
// The learning rate as a pure function of the iteration, so a resumed run recomputes it instead of
// storing it: mmdetection's linear warmup over a step or cosine schedule.
//   warmup (iter < warmup_iters): lr = regular(iter) * (1 - (1 - iter / warmup_iters) * (1 - warmup_ratio))
//     (mmcv's LrUpdaterHook 'linear': warmup_ratio at iteration 0, rising to 1 at warmup_iters)
//   step:   regular = base * gamma^(number of steps s with epoch >= s), epoch = iter / iters_per_epoch
//           (steps [8, 11]: epochs 0..7 at base, 8..10 at base*gamma, 11.. at base*gamma^2)
//   cosine: regular = base * (1 + cos(pi * iter / total_iters)) / 2, down to 0 at the last iteration
//   warmup_cosine: MindSpore's SSD get_lr: the linear warmup rises from warmup_ratio * base to base
//           (base * (r + (1 - r) * iter / W)), then base * (1 + cos(pi * (iter - W) / (total - W))) / 2
// warmup_epochs > 0 sets warmup_iters to warmup_epochs * iters_per_epoch (MindSpore counts epochs).
#include <cstdint>
#include <vector>

#include "common/config.h"

namespace studio {

enum class LrPolicy { Step, Cosine, WarmupCosine };

struct LrScheduleOptions {
  LrPolicy policy = LrPolicy::Step;
  std::vector<int> steps;   // epochs (0-based start) from which lr is multiplied by gamma once more
  double gamma = 0.1;
  bool warmup = true;       // linear warmup; false = none
  int warmup_iters = 500;
  double warmup_ratio = 0.001;
  double warmup_epochs = 0;  // > 0: replaces warmup_iters by warmup_epochs * iters_per_epoch
};
// `schedule` is the recipe's train.schedule (keys type, steps, gamma, warmup, warmup_iters, warmup_ratio, warmup_epochs).
[[nodiscard]] LrScheduleOptions lr_schedule_options_from_config(const ConfigNode& schedule);

class LrSchedule {
 public:
  // `epochs` and `iters_per_epoch` fix the cosine's length.
  LrSchedule(LrScheduleOptions options, double base_lr, int epochs, std::int64_t iters_per_epoch);
  // lr for the 0-based global iteration `iter` (the step about to be taken).
  [[nodiscard]] double lr(std::int64_t iter) const;
  [[nodiscard]] std::int64_t total_iters() const { return std::int64_t(epochs_) * iters_per_epoch_; }
  [[nodiscard]] const LrScheduleOptions& options() const { return options_; }

 private:
  LrScheduleOptions options_;
  double base_lr_;
  int epochs_;
  std::int64_t iters_per_epoch_;
  std::int64_t warmup_iters_;
};

}  // namespace studio
