// Speed benchmark of SSD-ResNet50-FPN (MindSpore's ssd_resnet50_fpn, a RetinaNet) in the studio alone:
// the reference is MindSpore, which cannot be installed here, so there is no reference column.
// The model is built by build_model from the recipe's `model:` section (default
// configs/ssd_resnet50_fpn_coco.yaml: ResNet-50, 640x640, 81 class columns), random weights. The
// class bias starts at the prior --cls-prior (0.01; model.cls_prior_prob, which changes no cost of
// the network): with the recipe's 0 every score is 0.5, over the 0.1 threshold, and NMS would sort
// all 51,150 anchors in each of the 80 classes, which no trained model makes it do.
// Float32; the threads and the BLAS are printed.
//   inference:  predict() on one 480x640 image of values 0..255 (resized to 640x640 inside), and its
//               split: the network (forward(normalise(batch))) and the postprocess (sigmoid, decode,
//               per-class NMS) on that network output
//   train step: losses (matching, focal + smooth L1), backward and an SGD step on --train-batch
//               640x640 images with 3 boxes each
//   bench_ssd_resnet_fpn [--threads 0] [--repeat 5] [--train-batch 2]
//                        [--config configs/ssd_resnet50_fpn_coco.yaml] [--device cpu] [--cls-prior 0.01]
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <torch/cuda.h>

#include "bench_support.h"
#include "common/config.h"
#include "common/error.h"
#include "engine/device.h"
#include "modeling/meta_arch/ssd_resnet50_fpn.h"
#include "modeling/model_factory.h"

using namespace studio;
using bench::list;
using bench::median;
namespace fs = std::filesystem;

namespace {

// A smooth image of values 0..255 (no file needed), [n, 3, h, w] float32.
ImageBatch formula_batch(int n, int h, int w) {
  const auto y = torch::arange(h, torch::kFloat).view({1, 1, h, 1});
  const auto x = torch::arange(w, torch::kFloat).view({1, 1, 1, w});
  const auto c = torch::arange(3, torch::kFloat).view({1, 3, 1, 1});
  const auto i = torch::arange(n, torch::kFloat).view({n, 1, 1, 1});
  ImageBatch b;
  b.images = (127.5 + 127.5 * torch::sin(0.031 * x + 0.017 * y + 1.3 * c + 0.7 * i)).contiguous();
  for (int k = 0; k < n; ++k) {
    b.image_sizes.push_back({h, w});
    b.original_sizes.push_back({h, w});
    b.image_ids.push_back(k);
    b.flipped.push_back(false);
  }
  return b;
}

// A recipe path: as given when it exists, else relative to the source tree this file is in.
std::string resolve_config(const std::string& path) {
  if (fs::path(path).is_absolute() || fs::exists(path)) return path;
  const fs::path in_repo = fs::path(__FILE__).parent_path().parent_path() / path;
  if (fs::exists(in_repo)) return in_repo.string();
  throw Error(path + ": not found (nor at " + in_repo.string() + "); run from the source tree or give --config");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = "configs/ssd_resnet50_fpn_coco.yaml", device_name = "cpu";
  int threads = 0, repeat = 5, train_batch = 2;
  double cls_prior = 0.01;
  CLI::App app{"bench_ssd_resnet_fpn: SSD-ResNet50-FPN inference and training step speed (no reference)"};
  app.add_option("--threads", threads, "torch threads; 0 uses every core")->capture_default_str();
  app.add_option("--repeat", repeat, "timed runs each, after one warm-up")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--train-batch", train_batch, "training batch")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--config", config, "the recipe (its model: section builds the model)")->capture_default_str();
  app.add_option("--device", device_name, "cpu, cuda, cuda:N or auto")->capture_default_str();
  app.add_option("--cls-prior", cls_prior, "model.cls_prior_prob for the random class bias (0: the recipe's)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  CLI11_PARSE(app, argc, argv);
  try {
    keep_freed_tensor_memory();  // as studio-cli train and infer do
    threads = set_torch_threads(threads);
    const torch::Device device = parse_device(device_name);
    const auto sync = [&] {
      if (device.is_cuda()) torch::cuda::synchronize(device.index());
    };
    const auto timed = [&](const std::function<void()>& fn) {
      return bench::timed([&] { fn(), sync(); }, repeat);
    };

    const std::string recipe_path = resolve_config(config);
    const Config recipe = Config::load(recipe_path, {"model.cls_prior_prob=" + std::to_string(cls_prior)});
    const auto model = std::dynamic_pointer_cast<SSDResNetFPN>(build_model(recipe.at("model")));
    if (!model) throw Error(recipe_path + ": model.type does not build an SSDResNetFPN");
    model->to(device);
    const SSDResNetFPNOptions& o = model->options();
    const int size = o.image_size;
    std::printf("bench_ssd_resnet_fpn: %s, ResNet-%d, %dx%d, %d class columns, %lld anchors, device %s\n",
                recipe_path.c_str(), o.depth, size, size, o.num_classes + 1,
                static_cast<long long>(model->anchors().yxhw.size(0)), device.str().c_str());
    std::printf("%d threads, %d timed runs each (after one warm-up), training batch %d, random weights, "
                "class prior %g\n", threads, repeat, train_batch, cls_prior);
    std::printf("no reference column: the reference (MindSpore) cannot be installed here; our figures only\n");

    // Inference: one 480x640 image (the model resizes it to the square), predictions at 480x640.
    model->eval();
    const ImageBatch one = formula_batch(1, size * 3 / 4, size).to(device);
    int64_t detections = 0, columns = 0;
    const std::vector<double> infer = timed([&] {
      torch::NoGradGuard no_grad;
      detections = model->predict(one)[0].scores.size(0);
    });
    torch::Tensor loc, logits;
    const std::vector<double> network = timed([&] {
      torch::NoGradGuard no_grad;
      std::tie(loc, logits) = model->forward(model->normalise(one));
    });
    columns = logits.size(2);
    // The rest of predict() on that network output, as predict() does it.
    const std::vector<double> post = timed([&] {
      torch::NoGradGuard no_grad;
      const torch::Tensor scores = torch::sigmoid(logits.to(torch::kFloat));
      const torch::Tensor yxyx = grid_anchor_decode(loc.to(torch::kFloat), model->anchors().yxhw);
      (void)model->postprocess(scores[0].cpu(), yxyx[0].cpu(), one.original_sizes[0]);
    });

    // Training: --train-batch square images with three boxes each (class indices 0..C-1).
    model->train();
    const ImageBatch train_images = formula_batch(train_batch, size, size).to(device);
    std::vector<InstanceTargets> targets;
    for (int i = 0; i < train_batch; ++i) {
      const float s = static_cast<float>(size), d = 8.0f * static_cast<float>(i);
      InstanceTargets t;
      t.boxes = torch::tensor({0.10f * s + d, 0.15f * s, 0.45f * s + d, 0.60f * s,   //
                               0.50f * s, 0.40f * s + d, 0.90f * s, 0.95f * s,        //
                               0.30f * s, 0.05f * s, 0.42f * s, 0.20f * s + d})
                    .view({3, 4});
      t.labels = torch::tensor({static_cast<int64_t>(i % o.num_classes), int64_t{1} % o.num_classes,
                                int64_t{o.num_classes - 1}});
      targets.push_back(t.to(device));
    }
    std::vector<torch::Tensor> params;
    for (auto& p : model->parameters())
      if (p.requires_grad()) params.push_back(p);
    torch::optim::SGD optimizer(params, torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(4e-4));
    const std::vector<double> train = timed([&] {
      const LossTerms losses = model->losses(train_images, targets);
      torch::Tensor total;
      for (const auto& [name, value] : losses) total = total.defined() ? total + value : value;
      optimizer.zero_grad();
      total.backward();
      optimizer.step();
    });

    std::printf("studio (LibTorch %s), %d threads, BLAS %s\n", TORCH_VERSION, threads, bench::blas_library().c_str());
    std::printf("predict 1 image s: %s\nnetwork forward s: %s\npostprocess s: %s\ntrain step s: %s\n",
                list(infer).c_str(), list(network).c_str(), list(post).c_str(), list(train).c_str());
    const double mi = median(infer), mn = median(network), mp = median(post), mt = median(train);
    std::printf("\n%-44s %10s %10s\n", "median", "s", "images/s");
    std::printf("%-44s %10.3f %10.2f\n", "inference, 1 image 480x640 -> 640x640", mi, 1 / mi);
    std::printf("%-44s %10.3f %10.2f\n", "  network forward (normalise + forward)", mn, 1 / mn);
    std::printf("%-44s %10.3f %10s\n", "  postprocess (sigmoid, decode, NMS)", mp, "");
    const std::string step = "train step, " + std::to_string(train_batch) + " images 640x640";
    std::printf("%-44s %10.3f %10.2f\n", step.c_str(), mt, train_batch / mt);
    std::printf("class columns %lld; detections on the image (random weights): %lld\n",
                static_cast<long long>(columns), static_cast<long long>(detections));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 2;
  }
  return 0;
}
