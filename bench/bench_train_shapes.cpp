// Learning benchmark: generates a shapes training set and a separate validation set (COCO JSON, a
// VOC folder or a TXT list, read back through the format's reader), trains a recipe on them (data
// paths overridden) and prints the final evaluation, wall time and training images/s, with the
// learning target of the model's kind on a 2-core CPU within 15 minutes:
//   mask models (SOLOv2, Mask R-CNN; COCO metric): mask AP >= 0.5
//   SSD recipes (train.eval_metric voc07):          VOC07 mAP >= 0.7
//   bench_train_shapes [--config configs/solov2_r18_fpn_shapes_cpu.yaml] [--out /tmp/bench_train_shapes]
//                      [--format coco|voc|txt] [--size 256] [--train-images 2500] [--val-images 50]
//                      [--threads 0] [-o key=value ...]
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/error.h"
#include "common/run_folder.h"
#include "data/shapes_generator.h"
#include "data/txt_reader.h"
#include "data/voc_reader.h"
#include "engine/device.h"
#include "engine/trainer.h"

using namespace studio;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string config = "configs/solov2_r18_fpn_shapes_cpu.yaml", out = "/tmp/bench_train_shapes";
  int train_images = 2500, val_images = 50, threads = 0, size = 256;
  std::string format = "coco";
  std::vector<std::string> overrides;
  CLI::App app{"bench_train_shapes: train a recipe on generated shapes, print mask/box AP and time"};
  app.add_option("--config", config, "the recipe")->capture_default_str();
  app.add_option("--out", out, "output folder (replaced on every run)")->capture_default_str();
  app.add_option("--train-images", train_images, "generated training images")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--val-images", val_images, "generated validation images")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--format", format, "how the shapes are written and read")
      ->capture_default_str()
      ->check(CLI::IsMember({"coco", "voc", "txt"}));
  app.add_option("--size", size, "generated image size in pixels")->capture_default_str()->check(CLI::PositiveNumber);
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
      o.size = size;
      o.format = format == "voc" ? ShapesFormat::Voc : format == "txt" ? ShapesFormat::Txt : ShapesFormat::Coco;
      std::shared_ptr<Dataset> ds;
      if (o.format == ShapesFormat::Coco) {
        ds = std::make_shared<Dataset>(generate_shapes(o));
      } else {
        (void)generate_shapes(o);  // then read back as a user's VOC folder or TXT list would be
        if (o.format == ShapesFormat::Voc) {
          VocOptions vo;
          vo.roots = {o.out_dir};
          vo.split = o.split;
          vo.names_file = o.out_dir + "/names.txt";
          ds = std::make_shared<Dataset>(read_voc(vo));
        } else {
          ds = std::make_shared<Dataset>(read_txt(o.out_dir + "/" + o.split + ".txt", o.out_dir + "/images",
                                                 o.out_dir + "/names.txt"));
        }
      }
      ds->index();
      return ds;
    };
    TrainerSetup setup;
    setup.run_dir = out + "/run";
    setup.train = make("train", train_images, 1);
    setup.val = make("val", val_images, 2);
    Config recipe = Config::load(config, overrides);
    std::printf("bench_train_shapes: %s, %d train / %d val images (%s, %d px), %d threads\n", config.c_str(),
                train_images, val_images, format.c_str(), size, threads);
    const auto t0 = std::chrono::steady_clock::now();
    Trainer trainer(std::move(recipe), setup);
    trainer.train();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The final evaluation (the trainer evaluates after the last epoch).
    const auto& e = trainer.last_eval();
    if (!e) throw Error("the run ended without an evaluation");
    const double images = double(trainer.state().iter) * trainer.options().batch_size;
    if (e->has_voc) {
      std::printf("VOC mAP %.4f (train.eval_metric's rule)\n", e->voc_map);
    } else {
      if (e->has_segm) std::printf("mask AP %.4f\n", e->segm[0]);
      std::printf("box AP %.4f (AP50 %.4f)\n", e->bbox[0], e->bbox[1]);
    }
    std::printf("wall time %.1f s (training + evaluation)\n", wall);
    std::printf("images/s %.2f (training images over the whole wall time)\n", images / wall);
    // Time to target: the first evaluation (eval events, every train.eval_interval epochs) whose
    // number reaches it, counted from the run's start event.
    if (e->has_voc || e->has_segm) {
      const double target = e->has_voc ? 0.7 : 0.5;
      const char* what = e->has_voc ? "VOC mAP" : "mask AP";
      std::ifstream events(RunFolder{setup.run_dir}.events());
      std::string line;
      double start = -1, reached_at = -1, reached_value = 0;
      int reached_epoch = 0;
      while (std::getline(events, line)) {
        const YAML::Node ev = YAML::Load(line);
        const std::string type = ev["type"].as<std::string>();
        if (type == "start" && start < 0) start = ev["time"].as<double>();
        if (type != "eval" || reached_at >= 0) continue;
        const double v = e->has_voc ? ev["voc"]["mAP"].as<double>() : ev["segm"]["AP"].as<double>();
        if (v >= target) {
          reached_at = ev["time"].as<double>() - start;
          reached_value = v;
          reached_epoch = ev["epoch"].as<int>();
        }
      }
      if (reached_at >= 0)
        std::printf("target %s >= %.1f within 900 s: %s (%.4f at the epoch %d evaluation, %.0f s after the start)\n",
                    what, target, reached_at <= 900 ? "met" : "not met", reached_value, reached_epoch, reached_at);
      else
        std::printf("target %s >= %.1f within 900 s: not met (no evaluation reached it)\n", what, target);
    }
    std::printf("run folder: %s (events.jsonl has the per-interval images/s)\n", setup.run_dir.c_str());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 2;
  }
  return 0;
}
