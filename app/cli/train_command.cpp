// studio-cli train --config configs/X.yaml [--out runs/NAME] [-o key=value ...] [--resume]
//                  [--train-data DATASET --val-data DATASET] [--threads N] [--device auto|cpu|cuda[:N]]
// Trains into a run folder (config.yaml, events.jsonl, log.txt, checkpoints/, eval/) with one
// updating progress line. Ctrl-C stops cleanly: last.pt is written and --resume continues from it.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/config.h"
#include "common/error.h"
#include "data/dataset_spec.h"
#include "engine/dataset_from_recipe.h"
#include "engine/device.h"
#include "engine/trainer.h"

namespace studio::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_interrupt(int) {
  g_cancel.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

std::string duration_text(double s) {
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// One updating line on a terminal; otherwise a line every log_interval iterations.
class ProgressLine : public TrainHook {
 public:
  ProgressLine() : tty_(::isatty(STDERR_FILENO) != 0) {}
  void after_step(Trainer& t, const StepReport& r) override {
    const bool due = tty_ || r.iter % std::max(1, t.options().log_interval) == 0 || r.batch == r.batches_per_epoch;
    if (!due) return;
    std::string line = "epoch " + std::to_string(r.epoch) + "/" + std::to_string(r.epochs) + " iter " +
                       std::to_string(r.batch) + "/" + std::to_string(r.batches_per_epoch);
    char buf[96];
    for (const auto& [name, v] : r.losses) {
      std::snprintf(buf, sizeof buf, " %s %.4f", name.c_str(), v);
      line += buf;
    }
    std::snprintf(buf, sizeof buf, " loss %.4f lr %.2e %.1f img/s ETA %s", r.loss, r.lr, r.images_per_s,
                  duration_text(r.eta_s).c_str());
    line += buf;
    if (tty_)
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
  void after_epoch(Trainer& t) override {
    if (tty_) std::fputc('\n', stderr);
    if (t.last_eval() && t.last_eval()->epoch == t.state().epoch) {
      const auto& e = *t.last_eval();
      if (e.has_segm)
        std::fprintf(stderr, "epoch %d: mask AP %.4f, box AP %.4f (%s)\n", e.epoch, e.segm[0], e.bbox[0],
                     e.metrics_path.c_str());
      else
        std::fprintf(stderr, "epoch %d: box AP %.4f (%s)\n", e.epoch, e.bbox[0], e.metrics_path.c_str());
    }
  }

 private:
  bool tty_;
};

struct TrainOptions {
  std::string config, out, train_data, val_data, device = "auto";
  std::vector<std::string> overrides;
  bool resume = false;
  int threads = 0;
};

int run_train(const TrainOptions& o) {
  const int threads = set_torch_threads(o.threads);
  Config recipe = Config::load(o.config, o.overrides);
  const std::string out = o.out.empty() ? "runs/" + std::filesystem::path(o.config).stem().string() : o.out;

  TrainerSetup setup;
  setup.run_dir = out;
  setup.resume = o.resume;
  setup.device = parse_device(o.device);
  setup.cancel = &g_cancel;
  check_run_folder(out, o.resume);  // before reading datasets, which can take minutes
  const DatasetSpec train_spec = resolve_dataset_spec(recipe, "data.train", o.train_data, "--train-data");
  std::cerr << "training set: " << train_spec.describe() << "\n";
  auto train = std::make_shared<Dataset>(load_dataset(train_spec, terminal_progress()));
  train->index();
  setup.train = train;
  if (!o.val_data.empty() || recipe.at("data").has("val")) {
    const DatasetSpec val_spec = resolve_dataset_spec(recipe, "data.val", o.val_data, "--val-data");
    std::cerr << "validation set: " << val_spec.describe() << "\n";
    auto val = std::make_shared<Dataset>(load_dataset(val_spec, terminal_progress()));
    val->index();
    setup.val = val;
  }
  Trainer trainer(std::move(recipe), setup);
  trainer.add_hook(std::make_shared<ProgressLine>());
  std::cerr << "run folder: " << out << " (" << trainer.batches_per_epoch() << " iterations an epoch, "
            << trainer.options().epochs << " epochs, " << threads << " threads, " << setup.device << ")\n";
  std::signal(SIGINT, on_interrupt);
  const bool finished = trainer.train();
  std::signal(SIGINT, SIG_DFL);
  if (!finished) {
    std::cerr << "\nstopped at iteration " << trainer.state().iter << "; continue with --resume --out " << out << "\n";
    return 130;
  }
  std::cout << "finished: " << out << "/checkpoints/last.pt";
  if (trainer.state().best_metric >= 0)
    std::cout << ", best AP " << trainer.state().best_metric << " after epoch " << trainer.state().best_epoch
              << " (best.pt)";
  std::cout << "\n";
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("train", "Train a model from a recipe into a run folder");
  auto o = std::make_shared<TrainOptions>();
  sub->add_option("--config", o->config, "Recipe YAML (configs/...)")->required();
  sub->add_option("--out", o->out, "Run folder (default: runs/<recipe name>)");
  sub->add_option("-o,--override", o->overrides, "Recipe override key=value, e.g. -o train.optimizer.lr=0.005")
      ->take_all();
  sub->add_flag("--resume", o->resume, "Continue the run folder's last checkpoint (checkpoints/last.pt)");
  sub->add_option("--train-data", o->train_data, "Training set (token or dataset YAML), replacing data.train");
  sub->add_option("--val-data", o->val_data, "Validation set (token or dataset YAML), replacing data.val");
  sub->add_option("--threads", o->threads, "CPU threads for torch (0: all cores)")->capture_default_str();
  sub->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  out.push_back({sub, [o]() { return run_train(*o); }});
}

}  // namespace studio::cli
