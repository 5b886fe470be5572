// studio-cli train --config configs/X.yaml [--out runs/NAME] [-o key=value ...] [--resume]
//                  [--train-data DATASET --val-data DATASET] [--threads N] [--device auto|cpu|cuda[:N]]
//                  [--nproc N [--nnodes M --node-rank K --master-addr HOST --master-port P]]
//                  [--autoscale-lr] [--amp]
// Trains into a run folder (config.yaml, events.jsonl, log.txt, checkpoints/, eval/) with one
// updating progress line. Ctrl-C or SIGTERM stops cleanly: last.pt is written, exit 0, and
// --resume continues from it.
//
// Processes (DESIGN.md, "Process model"): with --nproc N > 1 (or --nnodes > 1) this process is
// the launcher (engine/launcher.h): it starts N copies of this executable with the same
// arguments minus the launcher's, and torchrun's variables set. A process that finds RANK /
// WORLD_SIZE (or SLURM's) in its environment is a worker of a data-parallel job: it joins the
// process group (engine/distributed.h) and trains its shard; rank 0 alone prints and writes.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/config.h"
#include "common/error.h"
#include "common/run_folder.h"
#include "data/dataset_spec.h"
#include "engine/dataset_from_recipe.h"
#include "engine/device.h"
#include "engine/distributed.h"
#include "engine/launcher.h"
#include "engine/trainer.h"

namespace studio::cli {
namespace {

std::atomic<bool> g_cancel{false};

// SIGINT (Ctrl-C) and SIGTERM (the GUI's Stop, the launcher after a fault, a scheduler) both stop
// cleanly; a second one of either ends the process at once.
extern "C" void on_interrupt(int) {
  g_cancel.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
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
    std::snprintf(buf, sizeof buf, " loss %.4f lr %.2e %.1f img/s", r.loss, r.lr, r.images_per_s);
    line += buf;
    if (r.gpu_mem_mb >= 0) {
      std::snprintf(buf, sizeof buf, " %.0f MiB", r.gpu_mem_mb);
      line += buf;
    }
    line += " ETA " + duration_text(r.eta_s);
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
      if (e.has_voc)
        std::fprintf(stderr, "epoch %d: VOC mAP %.4f (%s)\n", e.epoch, e.voc_map, e.metrics_path.c_str());
      else if (e.has_segm)
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
  // Data-parallel: the launcher's options and what the Trainer does with several devices.
  int nproc = 1, nnodes = 1, node_rank = 0, master_port = 0;
  std::string master_addr = "127.0.0.1";
  bool autoscale_lr = false, amp = false;
  std::string stall_timeout;  // --stall-timeout: becomes -o train.stall_timeout=...
};

std::string default_out(const TrainOptions& o) {
  return o.out.empty() ? "runs/" + std::filesystem::path(o.config).stem().string() : o.out;
}

// This worker's device: with several processes on a node, cuda/auto give each its own GPU
// (cuda:LOCAL_RANK), as torchrun's workers do.
torch::Device worker_device(const std::string& text, const DistEnv& env) {
  if (!env.distributed()) return parse_device(text);
  if (text == "cpu") return torch::kCPU;
  if (text == "auto" || text == "cuda") {
    if (text == "auto" && !torch::cuda::is_available()) return torch::kCPU;
    const int count = static_cast<int>(torch::cuda::device_count());
    if (env.local_rank >= count)
      throw Error("--device " + text + ": LOCAL_RANK " + std::to_string(env.local_rank) + " needs cuda:" +
                  std::to_string(env.local_rank) + ", but there " + (count == 1 ? "is 1 CUDA device" : "are " +
                  std::to_string(count) + " CUDA devices") + "; use at most " + std::to_string(count) +
                  " processes per node or --device cpu");
    return parse_device("cuda:" + std::to_string(env.local_rank));
  }
  if (env.local_world_size > 1)
    throw Error("--device " + text + ": names one device, but " + std::to_string(env.local_world_size) +
                " processes run on this node; use --device cuda (each process takes cuda:LOCAL_RANK) or cpu");
  return parse_device(text);
}

// --nproc/--nnodes: this process starts the workers and watches them (launcher.h).
int run_launcher(const TrainOptions& o) {
  if (std::getenv("RANK") != nullptr)
    throw Error("--nproc " + std::to_string(o.nproc) + ": this process already is worker " +
                std::string(std::getenv("RANK")) +
                " of a job (RANK is set, e.g. by torchrun or srun); drop --nproc/--nnodes there");
  // The errors every worker would hit, once and before anything starts.
  (void)Config::load(o.config, o.overrides);
  const std::string out = default_out(o);
  if (o.node_rank == 0) check_run_folder(out, o.resume);
  if (o.device != "cpu" && torch::cuda::is_available()) {
    const int count = static_cast<int>(torch::cuda::device_count());
    if ((o.device == "auto" || o.device == "cuda") && o.nproc > count)
      throw Error("--nproc " + std::to_string(o.nproc) + ": there " +
                  (count == 1 ? "is 1 CUDA device" : "are " + std::to_string(count) + " CUDA devices") +
                  "; use --nproc " + std::to_string(count) + " or fewer, or --device cpu for CPU processes");
  }
  if (o.device.rfind("cuda", 0) == 0) (void)parse_device(o.device);  // no CUDA: say so here, once

  LaunchOptions launch;
  launch.nproc = o.nproc;
  launch.nnodes = o.nnodes;
  launch.node_rank = o.node_rank;
  launch.master_addr = o.master_addr;
  launch.master_port = o.master_port;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("--nproc: cannot find this executable (/proc/self/exe): " + ec.message());
  auto& a = launch.argv;
  a = {self.string(), "train", "--config", o.config, "--out", out, "--device", o.device};
  for (const auto& kv : o.overrides) a.insert(a.end(), {"-o", kv});
  if (o.resume) a.push_back("--resume");
  if (!o.train_data.empty()) a.insert(a.end(), {"--train-data", o.train_data});
  if (!o.val_data.empty()) a.insert(a.end(), {"--val-data", o.val_data});
  if (o.threads > 0) a.insert(a.end(), {"--threads", std::to_string(o.threads)});
  if (o.autoscale_lr) a.push_back("--autoscale-lr");
  if (o.amp) a.push_back("--amp");
  const int rc = launch_workers(launch);
  if (rc != 0) std::cerr << "error: the training job failed (exit " << rc << "); see the first launcher line above\n";
  return rc;
}

int run_worker(const TrainOptions& o, const DistEnv& env) {
  const bool main_rank = env.rank == 0;
  // CPU workers share the node's cores unless --threads says otherwise.
  int threads = o.threads;
  if (threads <= 0 && env.distributed())
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, env.local_world_size));
  keep_freed_tensor_memory();
  threads = set_torch_threads(threads);
  Config recipe = Config::load(o.config, o.overrides);
  const std::string out = default_out(o);

  TrainerSetup setup;
  setup.run_dir = out;
  setup.resume = o.resume;
  setup.device = worker_device(o.device, env);
  setup.cancel = &g_cancel;
  setup.rank = env.rank;
  setup.world_size = env.world_size;
  setup.autoscale_lr = o.autoscale_lr;
  setup.amp = o.amp;
  check_run_folder(out, o.resume);  // before reading datasets, which can take minutes
  const Progress progress = main_rank ? terminal_progress() : Progress{};
  const DatasetSpec train_spec = resolve_dataset_spec(recipe, "data.train", o.train_data, "--train-data");
  if (main_rank) std::cerr << "training set: " << train_spec.describe() << "\n";
  auto train = std::make_shared<Dataset>(load_dataset(train_spec, progress));
  train->index();
  setup.train = train;
  if (!o.val_data.empty() || recipe.at("data").has("val")) {
    const DatasetSpec val_spec = resolve_dataset_spec(recipe, "data.val", o.val_data, "--val-data");
    if (main_rank) std::cerr << "validation set: " << val_spec.describe() << "\n";
    auto val = std::make_shared<Dataset>(load_dataset(val_spec, progress));
    val->index();
    setup.val = val;
  }
  if (env.distributed()) {
    const double stall = trainer_options_from_config(recipe.at("train")).stall_timeout;
    setup.dist = DistContext::create(env, setup.device, std::chrono::seconds(60),
                                     std::chrono::milliseconds(static_cast<std::int64_t>(stall * 1000)));
  }
  Trainer trainer(std::move(recipe), setup);
  if (main_rank) {
    trainer.add_hook(std::make_shared<ProgressLine>());
    std::cerr << "run folder: " << out << " (" << trainer.batches_per_epoch() << " iterations an epoch, "
              << trainer.options().epochs << " epochs, ";
    if (env.distributed())
      std::cerr << env.world_size << " processes (" << setup.dist->backend() << ") x " << threads
                << (threads == 1 ? " thread, " : " threads, ") << setup.device << " on rank 0)\n";
    else
      std::cerr << threads << (threads == 1 ? " thread, " : " threads, ") << setup.device << ")\n";
  }
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  const bool finished = trainer.train();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!finished) {
    if (main_rank)
      std::cerr << "\nstopped at iteration " << trainer.state().iter << "; continue with --resume --out " << out
                << "\n";
    return 0;
  }
  if (main_rank) {
    std::cout << "finished: " << RunFolder{out}.last_checkpoint();
    if (trainer.state().best_metric >= 0)
      std::cout << ", best AP " << trainer.state().best_metric << " after epoch " << trainer.state().best_epoch
                << " (best.pt)";
    std::cout << "\n";
  }
  return 0;
}

int run_train(TrainOptions o) {
  if (!o.stall_timeout.empty()) o.overrides.push_back("train.stall_timeout=" + o.stall_timeout);
  o.stall_timeout.clear();  // the launcher passes the override on to its workers
  if (o.nproc > 1 || o.nnodes > 1) return run_launcher(o);
  if (o.nproc < 1) throw Error("--nproc " + std::to_string(o.nproc) + ": expected at least 1 process");
  const DistEnv env = dist_env_from_environment();
  if (!env.distributed()) return run_worker(o, env);
  // A worker's errors carry its rank: the launcher's terminal shows every rank's output.
  try {
    return run_worker(o, env);
  } catch (const Cancelled&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + ": " + e.what());
  }
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
  sub->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (with --nproc: cuda = one GPU per process)")
      ->capture_default_str();
  sub->add_option("--nproc", o->nproc, "Processes on this node: one per GPU, or N CPU processes (data-parallel)")
      ->capture_default_str()
      ->group("Data-parallel");
  sub->add_option("--nnodes", o->nnodes, "Nodes in the job (run the same command on each)")
      ->capture_default_str()
      ->group("Data-parallel");
  sub->add_option("--node-rank", o->node_rank, "This node's index, 0..nnodes-1")->capture_default_str()->group(
      "Data-parallel");
  sub->add_option("--master-addr", o->master_addr, "Node 0's address (the c10d store)")
      ->capture_default_str()
      ->group("Data-parallel");
  sub->add_option("--master-port", o->master_port, "The store's port (0: a free one; several nodes need one)")
      ->capture_default_str()
      ->group("Data-parallel");
  sub->add_option("--stall-timeout", o->stall_timeout,
                  "Seconds a process may keep the others waiting before it is named as stalled (as "
                  "train.stall_timeout, default 30; 0: off)")
      ->group("Data-parallel");
  sub->add_flag("--autoscale-lr", o->autoscale_lr,
                "Scale the learning rate by (processes x batch) / train.reference_batch (linear scaling rule)")
      ->group("Data-parallel");
  sub->add_flag("--amp", o->amp,
                "Mixed precision, as train.amp: true (CUDA: float16 autocast and loss scaling; CPU: bfloat16 autocast)");
  out.push_back({sub, [o]() { return run_train(*o); }});
}

}  // namespace studio::cli
