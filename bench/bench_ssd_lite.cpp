// Speed benchmark of SSD-MobileNetV2-Lite on the CPU against its reference, qfgaohao's pytorch-ssd
// in Python, in one run: runs bench/ssd_lite_reference.py (which writes the weights and the inputs),
// twice: with glibc's allocator defaults (as users run it) and with studio-cli's settings; then the
// same work in the studio with those weights, and prints medians and our time over the reference's.
// Float32, the same threads and BLAS (printed).
//   infer, 1 image:  predict() on one 300x300 image (network, softmax, decode, per-class NMS)
//   infer, 8 images: predict() on a batch of 8 (the reference's Predictor takes them one by one)
//   train step:      matching, losses, backward and an SGD step on a batch (--batch, 16)
//   bench_ssd_lite --reference PYTORCH_SSD [--threads 0] [--reps 5] [--batch 16]
//                  [--python /usr/bin/python3] [--out /tmp/bench_ssd_lite]
// PYTORCH_SSD is a checkout of https://github.com/qfgaohao/pytorch-ssd.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench_support.h"
#include "common/error.h"
#include "engine/device.h"
#include "modeling/meta_arch/ssd_lite.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"

using namespace studio;
namespace fs = std::filesystem;

namespace {

ImageBatch batch_of(const torch::Tensor& images) {
  ImageBatch b;
  b.images = images;
  for (int64_t i = 0; i < images.size(0); ++i) {
    b.image_sizes.push_back({300, 300});
    b.original_sizes.push_back({300, 300});
    b.image_ids.push_back(i);
    b.flipped.push_back(false);
  }
  return b;
}

struct Reference {
  double infer1 = 0, infer8 = 0, train = 0;
  int detections = 0;
};

Reference run_reference(const std::string& command, const std::string& log, const std::string& tunables) {
  const auto v = bench::run_reference(command, log, tunables);
  Reference r;
  r.infer1 = v.count("infer1_median") ? v.at("infer1_median") : 0;
  r.infer8 = v.count("infer8_median") ? v.at("infer8_median") : 0;
  r.train = v.count("train_median") ? v.at("train_median") : 0;
  r.detections = v.count("detections") ? static_cast<int>(v.at("detections")) : 0;
  if (r.infer1 <= 0 || r.infer8 <= 0 || r.train <= 0) throw Error(log + ": the RESULT line lacks a median");
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string python = "/usr/bin/python3", out = "/tmp/bench_ssd_lite", reference;
  int threads = 0, reps = 5, batch = 16;
  CLI::App app{"bench_ssd_lite: SSD-MobileNetV2-Lite CPU inference and training step against qfgaohao's pytorch-ssd"};
  app.add_option("--reference", reference, "a checkout of github.com/qfgaohao/pytorch-ssd")->required();
  app.add_option("--threads", threads, "torch threads; 0 uses every core")->capture_default_str();
  app.add_option("--reps", reps, "timed runs each, after one warm-up")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "training batch (at least 8)")->capture_default_str()->check(CLI::Range(8, 256));
  app.add_option("--python", python, "the Python with torch (Debian's python3-torch)")->capture_default_str();
  app.add_option("--out", out, "folder for the weights, inputs and the reference's logs")->capture_default_str();
  app.footer("Run from the source tree: it runs bench/ssd_lite_reference.py.");
  CLI11_PARSE(app, argc, argv);
  try {
    keep_freed_tensor_memory();  // as studio-cli train and infer do
    threads = set_torch_threads(threads);
    const std::string script = "bench/ssd_lite_reference.py";
    if (!fs::exists(script)) throw Error(script + ": not found; run bench_ssd_lite from the source tree");
    if (!fs::exists(reference + "/vision/ssd/mobilenet_v2_ssd_lite.py"))
      throw Error(reference + ": not a checkout of qfgaohao/pytorch-ssd (vision/ssd/mobilenet_v2_ssd_lite.py missing)");
    fs::create_directories(out);
    std::printf("bench_ssd_lite: %d threads, %d timed runs each (after one warm-up), training batch %d\n", threads,
                reps, batch);
    const std::string command = python + " " + script + " " + out + " " + std::to_string(threads) + " " +
                                std::to_string(reps) + " " + std::to_string(batch) + " " + reference;
    const Reference ref_default = run_reference(command, out + "/reference_default.txt", "");
    const Reference ref_tuned = run_reference(command, out + "/reference_tuned.txt", bench::kStudioTunables);

    SSDLiteOptions o;  // 20 VOC classes, the reference's predictor settings
    auto model = std::make_shared<SSDLite>(o);
    const ImportReport report = import_entries(*model, read_pth(out + "/weights.pth"), "mb2_ssd_lite");
    if (!report.ok()) throw Error(out + "/weights.pth: " + report.summary());
    std::map<std::string, torch::Tensor> in;
    for (auto& e : read_pth(out + "/inputs.pth")) in[e.name] = e.tensor;
    const torch::Tensor images = in.at("images");
    std::vector<InstanceTargets> targets;
    for (int i = 0; i < batch; ++i) {
      InstanceTargets t;
      t.boxes = in.at("boxes" + std::to_string(i));
      t.labels = in.at("labels" + std::to_string(i)) - 1;  // the reference's 1..20 -> 0..19
      targets.push_back(t);
    }

    model->eval();
    int64_t detections = 0;
    const auto predict = [&](int n) {
      torch::NoGradGuard no_grad;
      detections = model->predict(batch_of(images.slice(0, 0, n)))[0].size();
    };
    const std::vector<double> infer1 = bench::timed([&] { predict(1); }, reps);
    const std::vector<double> infer8 = bench::timed([&] { predict(8); }, reps);
    model->train();
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
    const ImageBatch train_batch = batch_of(images.slice(0, 0, batch));
    const std::vector<double> train = bench::timed(
        [&] {
          const LossTerms losses = model->losses(train_batch, targets);
          optimizer.zero_grad();
          (losses[0].second + losses[1].second).backward();
          optimizer.step();
        },
        reps);

    std::printf("studio (LibTorch %s), %d threads, BLAS %s\n", TORCH_VERSION, threads, bench::blas_library().c_str());
    std::printf("studio predict 1 image s: %s\nstudio predict 8 images s: %s\nstudio train step s: %s\n",
                bench::list(infer1).c_str(), bench::list(infer8).c_str(), bench::list(train).c_str());
    std::printf("\nthe reference as users run it (glibc allocator defaults), and with studio-cli's allocator settings\n");
    std::printf("%-30s %9s %12s %7s %12s %7s\n", "median (s)", "studio", "ref default", "ratio", "ref tuned", "ratio");
    const auto row = [](const char* what, double ours, double a, double b) {
      std::printf("%-30s %9.3f %12.3f %7.2f %12.3f %7.2f\n", what, ours, a, ours / a, b, ours / b);
    };
    const double m1 = bench::median(infer1), m8 = bench::median(infer8), mt = bench::median(train);
    row("inference, 1 image", m1, ref_default.infer1, ref_tuned.infer1);
    row("inference, 8 images", m8, ref_default.infer8, ref_tuned.infer8);
    const std::string step = "train step, " + std::to_string(batch) + " images";
    row(step.c_str(), mt, ref_default.train, ref_tuned.train);
    std::printf("images/s: studio %.1f (1), %.1f (8), %.1f (train); reference tuned %.1f, %.1f, %.1f\n", 1 / m1,
                8 / m8, batch / mt, 1 / ref_tuned.infer1, 8 / ref_tuned.infer8, batch / ref_tuned.train);
    std::printf("detections on image 0: studio %lld, reference %d\n", static_cast<long long>(detections),
                ref_default.detections);
    const auto verdict = [&](const Reference& r) {
      return m1 / r.infer1 <= 0.8 && m8 / r.infer8 <= 0.8 && mt / r.train <= 0.8 ? "met" : "not met";
    };
    std::printf("goal: ratio <= 0.80 for all three: %s against the reference as run, %s against it tuned alike\n",
                verdict(ref_default), verdict(ref_tuned));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "error: %s\n", ex.what());
    return 2;
  }
  return 0;
}
