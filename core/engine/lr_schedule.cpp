#include "engine/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace studio {

LrScheduleOptions lr_schedule_options_from_config(const ConfigNode& s) {
  s.allow({"type", "steps", "gamma", "warmup", "warmup_iters", "warmup_ratio", "warmup_epochs"});
  LrScheduleOptions o;
  const std::string type = s.get_choice("type", {"step", "cosine", "warmup_cosine"}, "step");
  o.policy = type == "cosine" ? LrPolicy::Cosine : type == "warmup_cosine" ? LrPolicy::WarmupCosine : LrPolicy::Step;
  o.steps = s.get_int_list("steps", {});
  o.gamma = s.get_double("gamma", o.gamma);
  o.warmup = s.get_choice("warmup", {"linear", "none"}, "linear") == "linear";
  o.warmup_iters = s.get_int("warmup_iters", o.warmup_iters);
  o.warmup_ratio = s.get_double("warmup_ratio", o.warmup_ratio);
  if (o.warmup_iters < 0) throw Error(s.where("warmup_iters") + ": expected an integer >= 0");
  o.warmup_epochs = s.get_double("warmup_epochs", o.warmup_epochs);
  if (!(o.warmup_epochs >= 0)) throw Error(s.where("warmup_epochs") + ": expected a number >= 0");
  if (!(o.warmup_ratio > 0 && o.warmup_ratio <= 1))
    throw Error(s.where("warmup_ratio") + ": expected a number in (0, 1]");
  if (!(o.gamma > 0)) throw Error(s.where("gamma") + ": expected a number > 0");
  for (int e : o.steps)
    if (e < 0) throw Error(s.where("steps") + ": expected epochs >= 0");
  return o;
}

LrSchedule::LrSchedule(LrScheduleOptions options, double base_lr, int epochs, std::int64_t iters_per_epoch)
    : options_(std::move(options)),
      base_lr_(base_lr),
      epochs_(std::max(epochs, 1)),
      iters_per_epoch_(std::max<std::int64_t>(iters_per_epoch, 1)),
      warmup_iters_(options_.warmup_epochs > 0
                        ? static_cast<std::int64_t>(std::llround(options_.warmup_epochs * double(iters_per_epoch_)))
                        : options_.warmup_iters) {}

double LrSchedule::lr(std::int64_t iter) const {
  double regular = base_lr_;
  if (options_.policy == LrPolicy::Step) {
    const std::int64_t epoch = iter / iters_per_epoch_;
    for (int s : options_.steps)
      if (epoch >= s) regular *= options_.gamma;
  } else if (options_.policy == LrPolicy::Cosine) {
    const double t = std::min(1.0, double(iter) / double(total_iters()));
    regular = base_lr_ * 0.5 * (1.0 + std::cos(M_PI * t));
  } else {
    const std::int64_t w = options_.warmup ? warmup_iters_ : 0;
    if (iter < w) return base_lr_ * (options_.warmup_ratio + (1.0 - options_.warmup_ratio) * double(iter) / double(w));
    const double t = std::min(1.0, double(iter - w) / double(std::max<std::int64_t>(total_iters() - w, 1)));
    return base_lr_ * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (options_.warmup && iter < warmup_iters_) {
    const double k = (1.0 - double(iter) / double(warmup_iters_)) * (1.0 - options_.warmup_ratio);
    return regular * (1.0 - k);
  }
  return regular;
}

}  // namespace studio
