#pragma once
// What the training loop calls around its work (detectron2's HookBase, STYLE.md 8). Hooks run in
// the order they were added; the trainer adds the built-in ones below when it is built, and
// Trainer::add_hook appends more (the command line's progress line, tests' recorders):
//   before_train
//   for each epoch:  before_epoch
//                    for each batch: before_step -> forward, backward -> after_backward
//                                    -> step -> after_step
//                    after_epoch
//   after_train      (also when cancelled: last.pt is written there)
//
// The built-in hooks, in their order:
//   LrScheduleHook   before_step: the schedule's lr for the coming iteration on every param group
//   EvalHook         after_epoch: evaluation every eval_interval epochs and after the last one
//   CheckpointHook   after_epoch: last.pt, epoch_<k>.pt every checkpoint_interval, best.pt when the
//                    evaluation improved; after_train when cancelled: last.pt at the iteration
//   EventsHook       start, train (every log_interval iterations and at each epoch's end,
//                    averaged over the interval as mmdetection's logger) and end events + log lines
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace studio {

class Trainer;

// One iteration, as the progress line and the train events see it.
struct StepReport {
  int epoch = 0;  // 1-based epoch in progress
  int epochs = 0;
  std::int64_t batch = 0;  // 1-based batch of the epoch just done
  std::int64_t batches_per_epoch = 0;
  std::int64_t iter = 0;  // iterations done (global)
  std::int64_t total_iters = 0;
  std::vector<std::pair<std::string, double>> losses;  // each loss term of this step
  double loss = 0;                                     // their sum
  double lr = 0;
  double images_per_s = 0;              // smoothed over the recent iterations
  double data_time = 0, step_time = 0;  // seconds of this iteration: waiting for data, compute
  double eta_s = 0;                     // seconds left (training only, from the smoothed step time)
  double gpu_mem_mb = -1;               // CUDA: peak memory allocated by tensors so far; -1 elsewhere
  bool skipped = false;                 // AMP: inf/NaN gradients, step skipped and loss scale halved
};

class TrainHook {
 public:
  virtual ~TrainHook() = default;
  virtual void before_train(Trainer&) {}
  // state().epoch: the 0-based epoch about to run (state().batch > 0 when resumed mid-epoch).
  virtual void before_epoch(Trainer&) {}
  // The batch is loaded; state().iter iterations are done.
  virtual void before_step(Trainer&) {}
  // Gradients ready (averaged over the ranks), before unscaling, clipping and the step.
  virtual void after_backward(Trainer&) {}
  virtual void after_step(Trainer&, const StepReport&) {}
  // state().epoch is the number of epochs completed.
  virtual void after_epoch(Trainer&) {}
  // Also when cancelled (or stopped by a Cancelled exception); not after an error.
  virtual void after_train(Trainer&, bool cancelled) {}
};

class LrScheduleHook : public TrainHook {
 public:
  void before_step(Trainer& t) override;
};

class EvalHook : public TrainHook {
 public:
  void after_epoch(Trainer& t) override;
};

class CheckpointHook : public TrainHook {
 public:
  void after_epoch(Trainer& t) override;
  void after_train(Trainer& t, bool cancelled) override;
};

class EventsHook : public TrainHook {
 public:
  void before_train(Trainer& t) override;
  void after_step(Trainer& t, const StepReport& r) override;
  void after_train(Trainer& t, bool cancelled) override;

 private:
  std::vector<std::pair<std::string, double>> sums_;
  double loss_ = 0, data_ = 0, step_ = 0, images_ = 0;
  int count_ = 0;
};

}  // namespace studio
