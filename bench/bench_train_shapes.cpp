// Learning benchmark: generates a shapes training set and a separate validation set, trains
// configs/solov2_r18_fpn_shapes_cpu.yaml on them (data paths overridden) and prints mask AP, box AP,
// wall time and training images/s. The target: mask AP >= 0.5 within 15 minutes on a 2-core CPU.
//   bench_train_shapes [--config configs/solov2_r18_fpn_shapes_cpu.yaml] [--out /tmp/bench_train_shapes]
//                      [--train-images 2500] [--val-images 50] [--threads 0] [-o key=value ...]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "data/shapes_generator.h"
#include "engine/device.h"
#include "engine/trainer.h"

using namespace studio;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string config = "configs/solov2_r18_fpn_shapes_cpu.yaml", out = "/tmp/bench_train_shapes";
  int train_images = 2500, val_images = 50, threads = 0;
  std::vector<std::string> overrides;
  CLI::App app{"bench_train_shapes: train a recipe on generated shapes, print mask/box AP and time"};
  app.add_option("--config", config, "the recipe")->capture_default_str();
  app.add_option("--out", out, "output folder (replaced on every run)")->capture_default_str();
  app.add_option("--train-images", train_images, "generated training images")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--val-images", val_images, "generated validation images")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "torch threads; 0 uses every core")->capture_default_str();
  app.add_option("-o", overrides, "recipe override key=value (repeatable)")->take_all();
  CLI11_PARSE(app, argc, argv);
  try {
    keep_freed_tensor_memory();
    threads = set_torch_threads(threads);
    // The output folder is replaced on every run: only one this benchmark made (it holds its
    // marker file) or an empty or new one, never a folder of the user's by a mistyped --out.
    const std::string marker = out + "/.bench_train_shapes";
    if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(marker))
      throw Error(out + ": not a folder bench_train_shapes made (no .bench_train_shapes in it); "
                        "give --out a new or empty folder");
    fs::remove_all(out);
    fs::create_directories(out);
    std::FILE* mark = std::fopen(marker.c_str(), "w");
    if (!mark) throw Error(marker + ": cannot write");
    std::fclose(mark);
    auto make = [&](const std::string& name, int n, std::uint64_t seed) {
      ShapesOptions o;
      o.out_dir = out + "/" + name;
      o.images = n;
      o.seed = seed;
      auto ds = std::make_shared<Dataset>(generate_shapes(o));
      ds->index();
      return ds;
    };
    TrainerSetup setup;
    setup.run_dir = out + "/run";
    setup.train = make("train", train_images, 1);
    setup.val = make("val", val_images, 2);
    Config recipe = Config::load(config, overrides);
    std::printf("bench_train_shapes: %s, %d train / %d val images, %d threads\n", config.c_str(), train_images,
                val_images, threads);
    const auto t0 = std::chrono::steady_clock::now();
    Trainer trainer(std::move(recipe), setup);
    trainer.train();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The final evaluation (the trainer evaluates after the last epoch).
    const auto& e = trainer.last_eval();
    const double mask_ap = e && e->has_segm ? e->segm[0] : -1, box_ap = e ? e->bbox[0] : -1;
    const double images = double(trainer.state().iter) * trainer.options().batch_size;
    std::printf("mask AP %.4f\nbox AP %.4f\nwall time %.1f s (training + evaluation)\n", mask_ap, box_ap, wall);
    std::printf("images/s %.2f (training images over the whole wall time)\n", images / wall);
    std::printf("target mask AP >= 0.5 within 900 s: %s\n", mask_ap >= 0.5 && wall <= 900 ? "met" : "not met");
    std::printf("run folder: %s (events.jsonl has the per-interval images/s)\n", setup.run_dir.c_str());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 2;
  }
  return 0;
}
