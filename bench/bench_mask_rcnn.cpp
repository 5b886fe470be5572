// Speed benchmark of Mask R-CNN R50-FPN on the CPU against torchvision, in one run: runs
// bench/mask_rcnn_torchvision.py (Debian's python3-torchvision, which also writes the weights and
// the two 800x1333 input images), then the same work in the studio with those weights, and prints
// both medians and our time over torchvision's. The reference runs twice: with glibc's allocator
// defaults (as users run it) and with the settings studio-cli makes for itself (no mmap of large
// blocks, no trimming: keep_freed_tensor_memory), so one ratio is against torchvision as it is
// used and the other compares the two codes alone. Float32 both sides, the same thread count, the
// same BLAS (printed: Debian's libblas.so.3 is whichever BLAS its alternatives select).
//   inference:  predict() on one 800x1333 image (transform, backbone, RPN, heads, masks pasted)
//   train step: losses, backward and an SGD step on a batch of two images
//   bench_mask_rcnn [--threads 0] [--reps 3] [--python /usr/bin/python3] [--out /tmp/bench_mask_rcnn]
//                   [--profile DIR]   (LibTorch profiler traces of one more inference and training step)
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench_support.h"
#include "common/error.h"
#include "engine/device.h"
#include "modeling/meta_arch/mask_rcnn.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"

using namespace studio;
using bench::blas_library;
using bench::list;
using bench::median;
using bench::timed;
namespace fs = std::filesystem;

namespace {

// One run of bench/mask_rcnn_torchvision.py; `tunables` is its GLIBC_TUNABLES ("" unsets it).
struct Reference {
  double infer = 0, train = 0;
  int detections = 0;
};
Reference run_reference(const std::string& python, const std::string& script, const std::string& out, int threads,
                        int reps, const std::string& tag, const std::string& tunables) {
  const auto values = bench::run_reference(
      python + " " + script + " " + out + " " + std::to_string(threads) + " " + std::to_string(reps),
      out + "/torchvision_" + tag + ".txt", tunables);
  Reference r;
  r.infer = values.count("infer_median") ? values.at("infer_median") : 0;
  r.train = values.count("train_median") ? values.at("train_median") : 0;
  r.detections = values.count("detections") ? static_cast<int>(values.at("detections")) : 0;
  if (r.infer <= 0 || r.train <= 0) throw Error(script + ": no infer_median / train_median in its RESULT line");
  return r;
}

// Raw images (uint8 [H, W, 3]) as the loader hands them to Mask R-CNN: values 0..255, own size.
ImageBatch raw_batch(const std::vector<torch::Tensor>& images) {
  ImageBatch b;
  std::vector<torch::Tensor> chw;
  for (size_t i = 0; i < images.size(); ++i) {
    chw.push_back(images[i].permute({2, 0, 1}).to(torch::kFloat32));
    b.image_sizes.push_back({static_cast<int>(images[i].size(0)), static_cast<int>(images[i].size(1))});
    b.original_sizes.push_back(b.image_sizes.back());
    b.image_ids.push_back(static_cast<int64_t>(i));
    b.flipped.push_back(false);
  }
  b.images = torch::stack(chw);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::string python = "/usr/bin/python3", out = "/tmp/bench_mask_rcnn";
  std::string profile;
  int threads = 0, reps = 3;
  CLI::App app{"bench_mask_rcnn: Mask R-CNN R50-FPN CPU inference and training step against torchvision"};
  app.add_option("--threads", threads, "torch threads; 0 uses every core")->capture_default_str();
  app.add_option("--reps", reps, "timed runs each, after one warm-up")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--python", python, "the Python with torchvision")->capture_default_str();
  app.add_option("--out", out, "folder for the weights, inputs and the reference's log")->capture_default_str();
  app.add_option("--profile", profile,
                 "also write LibTorch profiler traces of one more inference and training step there "
                 "(infer.json, train.json: Chrome trace JSON)");
  app.footer("Run from the source tree: it runs bench/mask_rcnn_torchvision.py.");
  CLI11_PARSE(app, argc, argv);
  try {
    keep_freed_tensor_memory();  // as studio-cli train and infer do
    threads = set_torch_threads(threads);
    const std::string script = "bench/mask_rcnn_torchvision.py";
    if (!fs::exists(script)) throw Error(script + ": not found; run bench_mask_rcnn from the source tree");
    fs::create_directories(out);

    // The reference first: it writes the weights and the inputs. It runs twice: as a user runs it (glibc's
    // allocator defaults), and with the allocator settings studio-cli makes for itself (no mmap, no trim
    // below 1 GiB: keep_freed_tensor_memory), so the second ratio compares the two codes alone.
    std::printf("bench_mask_rcnn: %d threads, %d timed runs each (after one warm-up)\n", threads, reps);
    const Reference tv_default = run_reference(python, script, out, threads, reps, "default", "");
    const Reference tv_tuned = run_reference(python, script, out, threads, reps, "tuned", bench::kStudioTunables);

    MaskRCNNOptions o;  // torchvision's defaults, as its COCO weights are built
    o.num_classes = 90;
    o.backbone.type = "resnet50";
    o.backbone.norm_eps = 0.0;
    o.neck.layout = "torchvision";
    auto model = std::make_shared<MaskRCNN>(o);
    const ImportReport report = import_entries(*model, read_pth(out + "/weights.pth"), "maskrcnn_resnet50_fpn");
    if (!report.ok()) throw Error(out + "/weights.pth: " + report.summary());

    std::map<std::string, torch::Tensor> in_tensors;
    for (auto& e : read_pth(out + "/inputs.pth")) in_tensors[e.name] = e.tensor;
    const ImageBatch one = raw_batch({in_tensors.at("image0")});
    const ImageBatch two = raw_batch({in_tensors.at("image0"), in_tensors.at("image1")});
    std::vector<InstanceTargets> targets;
    for (int i = 0; i < 2; ++i) {
      const std::string k = std::to_string(i);
      InstanceTargets t;
      t.boxes = in_tensors.at("boxes" + k);
      t.labels = in_tensors.at("labels" + k) - 1;  // torchvision's 1..C -> our class index
      t.masks = in_tensors.at("masks" + k);
      targets.push_back(t);
    }

    model->eval();
    int64_t detections = 0;
    const std::vector<double> infer = timed(
        [&] {
          torch::NoGradGuard no_grad;
          detections = model->predict(one)[0].scores.size(0);
        },
        reps);

    model->train();
    std::vector<torch::Tensor> params;
    for (auto& p : model->parameters())
      if (p.requires_grad()) params.push_back(p);
    torch::optim::SGD optimizer(params, torch::optim::SGDOptions(0.0025).momentum(0.9).weight_decay(1e-4));
    const auto train_step = [&] {
      const LossTerms losses = model->losses(two, targets);
      torch::Tensor total;
      for (const auto& [name, value] : losses) total = total.defined() ? total + value : value;
      optimizer.zero_grad();
      total.backward();
      optimizer.step();
    };
    const std::vector<double> train = timed(train_step, reps);
    if (!profile.empty()) {
      fs::create_directories(profile);
      {
        model->eval();
        torch::NoGradGuard no_grad;
        torch::autograd::profiler::RecordProfile guard(profile + "/infer.json");
        model->predict(one);
      }
      model->train();
      torch::autograd::profiler::RecordProfile guard(profile + "/train.json");
      train_step();
    }

    std::printf("studio (LibTorch %s), %d threads, BLAS %s\n", TORCH_VERSION, threads, blas_library().c_str());
    std::printf("studio inference s: %s\nstudio train step s: %s\n", list(infer).c_str(), list(train).c_str());
    std::printf("\ntorchvision as users run it (glibc allocator defaults), and with studio-cli's allocator settings\n");
    std::printf("%-32s %9s %12s %7s %12s %7s\n", "median (s)", "studio", "tv default", "ratio", "tv tuned",
                "ratio");
    const double mi = median(infer), mt = median(train);
    std::printf("%-32s %9.3f %12.3f %7.2f %12.3f %7.2f\n", "inference, 1 image 800x1333", mi, tv_default.infer,
                mi / tv_default.infer, tv_tuned.infer, mi / tv_tuned.infer);
    std::printf("%-32s %9.3f %12.3f %7.2f %12.3f %7.2f\n", "train step, 2 images 800x1333", mt, tv_default.train,
                mt / tv_default.train, tv_tuned.train, mt / tv_tuned.train);
    std::printf("detections: studio %lld, torchvision %d\n", static_cast<long long>(detections),
                tv_default.detections);
    const auto verdict = [&](const Reference& r) { return mi / r.infer <= 0.8 && mt / r.train <= 0.8 ? "met" : "not met"; };
    std::printf("goal: ratio <= 0.80 for both: %s against torchvision as run, %s against it tuned alike\n",
                verdict(tv_default), verdict(tv_tuned));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 2;
  }
  return 0;
}
