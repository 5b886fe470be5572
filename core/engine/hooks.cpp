#include "engine/hooks.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/number_text.h"
#include "common/run_folder.h"
#include "engine/optimizer.h"
#include "engine/trainer.h"

namespace studio {

namespace fs = std::filesystem;

namespace {

// `to` with the bytes of `from` without serialising twice: a hard link where the file system
// has them (a checkpoint is only ever replaced by a rename, write_file_atomic, so the link keeps
// this epoch's bytes when last.pt is next replaced), else a copy; either lands by a rename.
void same_bytes_as(const std::string& from, const std::string& to) {
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  ec.clear();
  fs::create_hard_link(from, tmp, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  }
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) throw Error(to + ": cannot write (" + ec.message() + ")");
}

void checkpoint_event(Trainer& t, int epoch, const std::string& path) {
  Event e;
  e.type = event_type::kCheckpoint;
  e.epoch = epoch;
  e.iter = t.state().iter;
  e.texts = {{"path", path}};
  t.run_log().event(e);
}

}  // namespace

// ---- LrScheduleHook ----

void LrScheduleHook::before_step(Trainer& t) {
  set_learning_rate(t.optimizer(), t.schedule().lr(t.schedule_iter()));
}

// ---- EvalHook ----

void EvalHook::after_epoch(Trainer& t) {
  const int epoch = t.state().epoch;
  const int interval = std::max(1, t.options().eval_interval);
  if (!t.setup().val || (epoch % interval != 0 && epoch != t.options().epochs)) return;
  t.evaluate();
}

// ---- CheckpointHook ----

void CheckpointHook::after_epoch(Trainer& t) {
  if (!t.is_main()) return;
  const int epoch = t.state().epoch;
  const RunFolder& run = t.run_log().folder();
  std::vector<std::string> written;
  t.save(run.last_checkpoint());
  written.push_back(run.last_checkpoint());
  const int interval = std::max(1, t.options().checkpoint_interval);
  if (epoch % interval == 0 || epoch == t.options().epochs) {
    const std::string path = run.epoch_checkpoint(epoch);
    same_bytes_as(run.last_checkpoint(), path);
    written.push_back(path);
  }
  if (t.last_eval() && t.last_eval()->epoch == epoch && t.last_eval_improved()) {
    const std::string path = run.best_checkpoint();
    same_bytes_as(run.last_checkpoint(), path);
    written.push_back(path);
  }
  for (const auto& path : written) checkpoint_event(t, epoch, path);
  t.run_log().log("checkpoint: epoch " + std::to_string(epoch) + " -> " + written.back());
}

void CheckpointHook::after_train(Trainer& t, bool cancelled) {
  if (!cancelled) return;  // the last epoch's after_epoch wrote last.pt
  const std::string last = t.run_log().folder().last_checkpoint();
  t.save(last);  // rank 0 only
  checkpoint_event(t, t.state().epoch, last);
}

// ---- EventsHook ----

void EventsHook::before_train(Trainer& t) {
  Event e;
  e.type = event_type::kStart;
  e.epoch = t.state().epoch;
  e.iter = t.state().iter;
  e.numbers = {{"epochs", t.options().epochs},           {"iters_per_epoch", double(t.batches_per_epoch())},
               {"total_iters", double(t.total_iters())}, {"batch_size", t.options().batch_size},
               {"world_size", t.setup().world_size},     {"base_lr", t.base_lr()}};
  e.texts = {{"run", t.run_log().dir()}, {"resumed", t.setup().resume ? "true" : "false"}};
  t.run_log().event(e);
  t.run_log().log(
      "start: epoch " + std::to_string(t.state().epoch) + ", iteration " + std::to_string(t.state().iter) +
      " of " + std::to_string(t.total_iters()) + (t.setup().resume ? " (resumed)" : "") +
      (t.setup().world_size > 1
           ? ", " + std::to_string(t.setup().world_size) + " processes (" + t.setup().dist->backend() + ")"
           : std::string()));
}

void EventsHook::after_step(Trainer& t, const StepReport& r) {
  for (const auto& [name, v] : r.losses) {
    auto it = std::find_if(sums_.begin(), sums_.end(), [&](const auto& p) { return p.first == name; });
    if (it == sums_.end())
      sums_.emplace_back(name, v);
    else
      it->second += v;
  }
  loss_ += r.loss;
  data_ += r.data_time;
  step_ += r.step_time;
  images_ += static_cast<double>(t.options().batch_size * t.setup().world_size);
  ++count_;
  const bool epoch_end = r.batch == r.batches_per_epoch;
  if (r.iter % std::max(1, t.options().log_interval) != 0 && !epoch_end) return;
  const double n = static_cast<double>(count_);
  Event e;
  e.type = event_type::kTrain;
  e.epoch = r.epoch;
  e.iter = r.iter;
  for (const auto& [name, v] : sums_) e.numbers.emplace_back(name, v / n);
  e.numbers.emplace_back("loss", loss_ / n);
  e.numbers.emplace_back("lr", r.lr);
  e.numbers.emplace_back("images_per_s", data_ + step_ > 0 ? images_ / (data_ + step_) : 0.0);
  e.numbers.emplace_back("data_time", data_ / n);
  e.numbers.emplace_back("step_time", step_ / n);
  e.numbers.emplace_back("eta_s", r.eta_s);
  if (r.gpu_mem_mb >= 0) e.numbers.emplace_back("gpu_mem_mb", r.gpu_mem_mb);
  t.run_log().event(e);
  std::string line = "epoch " + std::to_string(r.epoch) + "/" + std::to_string(r.epochs) + " iter " +
                     std::to_string(r.batch) + "/" + std::to_string(r.batches_per_epoch) + " lr " +
                     scientific_number(r.lr);
  for (const auto& [name, v] : sums_) line += " " + name + " " + fixed_number(v / n, 4);
  line += " loss " + fixed_number(loss_ / n, 4) + " images/s " +
          fixed_number(images_ / std::max(1e-9, data_ + step_), 1) + " data " + fixed_number(data_ / n, 3) +
          "s step " + fixed_number(step_ / n, 3) + "s";
  t.run_log().log(line);
  sums_.clear();
  loss_ = data_ = step_ = images_ = 0;
  count_ = 0;
}

void EventsHook::after_train(Trainer& t, bool cancelled) {
  Event e;
  e.type = event_type::kEnd;
  e.epoch = t.state().epoch;
  e.iter = t.state().iter;
  e.texts = {{"status", cancelled ? "cancelled" : "finished"}};
  if (t.state().best_metric >= 0)
    e.numbers = {{"best_segm_ap", t.state().best_metric}, {"best_epoch", t.state().best_epoch}};
  t.run_log().event(e);
  t.run_log().log(cancelled
                      ? "cancelled at iteration " + std::to_string(t.state().iter) + " (last.pt written)"
                      : "finished");
}

}  // namespace studio
