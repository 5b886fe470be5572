#pragma once
// The training loop, single process or data-parallel (TrainerSetup::dist, distributed.h), as a
// loop with hooks (hooks.h; STYLE.md 8, detectron2's train_loop): each iteration is
//   batch = loader.next() -> hooks' before_step (the lr schedule) -> losses = model->losses(batch)
//   -> loss = sum -> zero_grad, backward -> gradients averaged over the ranks -> hooks' after_backward
//   -> (AMP: unscale, skip the step on inf/NaN) -> clip the global L2 norm -> optimizer.step()
//   -> hooks' after_step
// and the epoch ends with the hooks' after_epoch: evaluation (evaluator.h: every eval_interval
// epochs and at the end; best.pt by segm AP, box AP or VOC mAP), checkpoints (last.pt,
// epoch_<k>.pt every checkpoint_interval), events. The optimiser is the recipe's (optimizer.h).
// The model comes from build_model (model_factory.h) unless TrainerSetup::build_model gives
// another builder; the trainer knows it only as a Detector. The GUI follows the run folder
// (events.jsonl), it never reaches in here.
//
// Resuming (TrainerSetup::resume) loads <run>/checkpoints/last.pt: parameters, buffers, SGD
// momentum, epoch, the loader's position in the epoch, the best metric and torch's RNG, so the
// run continues at the same iteration and reaches the same parameters as an uninterrupted one.
// The loader's position is kept as images of the epoch consumed by all ranks together, so a run
// can be resumed with another number of processes (the position is rounded down to a whole
// step of the new layout, the iteration count continues, the lr follows the new layout's
// schedule). events.jsonl is cut back to the checkpoint's iteration first (truncate_events) and
// a "resume" event written. Data-parallel resuming needs the run folder on every rank's disk
// (a shared file system on several nodes).
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "common/config.h"
#include "data/dataset.h"
#include "engine/amp.h"
#include "engine/checkpoint.h"
#include "engine/data_loader.h"
#include "engine/distributed.h"
#include "engine/evaluator.h"
#include "engine/events.h"
#include "engine/hooks.h"
#include "engine/lr_schedule.h"
#include "engine/optimizer.h"
#include "modeling/detector.h"

namespace studio {

// The recipe's `train:` section.
struct TrainerOptions {
  int batch_size = 2;          // per device
  int reference_batch = 16;    // the total batch `lr` was set for (--autoscale-lr, issue 5)
  int epochs = 12;
  OptimizerOptions optimizer;  // train.optimizer
  LrScheduleOptions schedule;
  double grad_clip = 0;        // max global L2 norm of the gradients; 0 = off
  int eval_interval = 1;       // epochs
  EvalMetricSetting eval_metric = EvalMetricSetting::Auto;  // train.eval_metric: auto|coco|voc|voc07
  int checkpoint_interval = 1; // epochs (epoch_<k>.pt); last.pt is written every epoch
  int log_interval = 50;       // iterations between train events / log lines
  std::uint64_t seed = 0;
  AmpSetting amp = AmpSetting::Off;  // train.amp; --amp turns it on
  // Data-parallel: seconds a rank may keep the others waiting in a collective before it is named
  // as stalled (distributed.h; --stall-timeout); 0 = off.
  double stall_timeout = 30;
};
// Refuses a new run into a folder that already has checkpoints/last.pt, and a resume without one
// (studio::Error naming the folder and --resume / --out). Called before any dataset is read.
void check_run_folder(const std::string& run_dir, bool resume);

[[nodiscard]] TrainerOptions trainer_options_from_config(const ConfigNode& train);

struct TrainerSetup {
  std::string run_dir;                    // runs/<name>
  bool resume = false;                    // continue from <run_dir>/checkpoints/last.pt
  std::shared_ptr<const Dataset> train;   // required
  std::shared_ptr<const Dataset> val;     // optional: no evaluation without it
  torch::Device device = torch::kCPU;
  int rank = 0, world_size = 1;           // only rank 0 writes the run folder (taken from dist when set)
  // Data-parallel: the process group (DistContext::create). Every rank builds a Trainer with the
  // same recipe and datasets; rank 0's parameters are broadcast before the first step.
  std::shared_ptr<DistContext> dist;
  bool autoscale_lr = false;  // lr x (world_size x batch_size) / reference_batch (linear scaling rule)
  bool amp = false;           // --amp: mixed precision, as train.amp: true (either turns it on)
  // Set to stop: last.pt is written, train() returns. Data-parallel: any rank's flag stops all
  // ranks at the same iteration.
  const std::atomic<bool>* cancel = nullptr;
  std::string model_name;                 // for metrics files (default: the recipe file's stem)
  // Builds the model from the recipe's model: section (num_classes already set from the training
  // set). Empty: build_model (model_factory.h). Tests pass a small stand-in Detector here.
  std::function<DetectorPtr(const ConfigNode& model)> build_model;
};

class Trainer {
 public:
  // Checks the recipe (train, data and model sections), builds the model (num_classes taken from
  // the training set when it differs from model.num_classes, logged), the loader, the optimiser,
  // the schedule and the evaluator (with a validation set), and creates or reopens the run
  // folder. A new run into a folder that already has a last.pt is an error (pass resume or
  // another folder).
  Trainer(Config recipe, TrainerSetup setup);
  ~Trainer();

  // Trains to the last epoch. Returns false when cancelled (last.pt written), true when done.
  bool train();
  // Inference on the validation set, results_<epoch>.json + metrics_<epoch>.json, an eval event
  // (evaluator.h); updates the best metric. Every rank calls it.
  EvalSummary evaluate();
  // Writes a checkpoint of the current state to `path` (rank 0 only).
  void save(const std::string& path);

  void add_hook(std::shared_ptr<TrainHook> hook) { hooks_.push_back(std::move(hook)); }

  [[nodiscard]] Detector& model() { return *model_; }
  [[nodiscard]] DetectorPtr model_ptr() const { return model_; }
  [[nodiscard]] torch::optim::Optimizer& optimizer() { return *optimizer_; }
  [[nodiscard]] const TrainState& state() const { return state_; }
  [[nodiscard]] TrainState& state() { return state_; }
  [[nodiscard]] const TrainerOptions& options() const { return options_; }
  [[nodiscard]] AmpMode amp() const { return amp_; }
  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] RunLog& run_log() { return *log_; }
  [[nodiscard]] const LrSchedule& schedule() const { return *schedule_; }
  // The iteration the schedule gives the lr of for the coming step (state().iter less the offset
  // a resume with another number of processes introduced).
  [[nodiscard]] std::int64_t schedule_iter() const { return state_.iter - iter_offset_; }
  // Iterations of the whole run as counted in state().iter (the schedule's, plus the offset a
  // resume with another number of processes introduced).
  [[nodiscard]] std::int64_t total_iters() const { return schedule_->total_iters() + iter_offset_; }
  [[nodiscard]] double base_lr() const { return options_.optimizer.lr; }  // after --autoscale-lr
  [[nodiscard]] std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  [[nodiscard]] const std::vector<Category>& categories() const { return categories_; }
  [[nodiscard]] const TrainerSetup& setup() const { return setup_; }
  [[nodiscard]] bool is_main() const { return setup_.rank == 0; }
  // The last evaluation's result, when there was one this epoch (hooks after the eval hook).
  [[nodiscard]] const std::optional<EvalSummary>& last_eval() const { return last_eval_; }
  [[nodiscard]] bool last_eval_improved() const { return last_eval_improved_; }

 private:
  void resume_from(const std::string& last, std::size_t discarded_events, const LoaderOptions& loader);
  void run_step(Batch& batch, double data_time);
  void end_epoch();  // the after_epoch hooks, with state_.epoch_end_pending set while they run
  // AMP on CUDA: unscales the gradients; false (step skipped, scale halved) on inf/NaN.
  [[nodiscard]] bool unscale_gradients(double loss_value);
  [[nodiscard]] bool cancel_requested();
  bool stop();  // cancelled: the hooks' after_train (last.pt); returns false
  [[nodiscard]] DistContext* dist() const { return setup_.dist && setup_.dist->world_size() > 1 ? setup_.dist.get() : nullptr; }

  Config config_;
  TrainerSetup setup_;
  TrainerOptions options_;
  DataOptions data_options_;
  std::vector<Category> categories_;
  DetectorPtr model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<DataLoader> loader_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<Evaluator> evaluator_;  // null without a validation set
  std::vector<std::shared_ptr<TrainHook>> hooks_;
  TrainState state_;
  std::int64_t batches_per_epoch_ = 0;
  std::optional<EvalSummary> last_eval_;
  bool last_eval_improved_ = false;
  bool stopping_ = false;  // in stop(): the after_train hooks save the state as it is
  double smoothed_iter_s_ = 0;  // exponential moving average of the iteration time
  double total_images_ = 0, total_time_ = 0;  // this process's training throughput (metrics meta)
  std::int64_t iter_offset_ = 0;  // state_.iter minus the schedule's iteration (resume with another layout)
  AmpMode amp_ = AmpMode::Off;    // from --amp / train.amp and the device
  double loss_scale_ = 65536;     // CUDA AMP's dynamic loss scale
  int loss_scale_good_steps_ = 0; // finite steps since the scale last changed (x2 after 2000)
};

}  // namespace studio
