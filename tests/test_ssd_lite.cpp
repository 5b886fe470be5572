// SSD-MobileNetV2-Lite (modeling/meta_arch/ssd_lite.h) against qfgaohao's pytorch-ssd: the fixture
// tests/data/qfgaohao/ssd_lite.pt holds the reference's outputs for weights and images that are
// formulas of arange (tests/qfgaohao/make_ssd_lite_fixtures.py, which says how to get the
// reference): the state-dict keys, the network's outputs in eval mode, the Predictor's detections,
// and a training step's losses, gradients and BatchNorm statistics. Plus hand-computed checks.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <map>
#include <sstream>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "modeling/meta_arch/ssd_lite.h"
#include "modeling/model_factory.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"
#include "qfgaohao_support.h"
#include "test_support.h"

using namespace studio;

namespace {

using test::wave;

// The script's formula_weights(): every float tensor of the state dict by its place k in the sorted
// keys (num_batches_tracked left out). Returns the sorted keys.
std::vector<std::string> fill_formula_weights(torch::nn::Module& model) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& p : model.named_parameters()) state[p.key()] = p.value();
  for (const auto& b : model.named_buffers()) state[b.key()] = b.value();
  std::vector<std::string> keys;
  torch::NoGradGuard no_grad;
  int k = 0;
  for (auto& [name, t] : state) {
    keys.push_back(name);
    if (name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) continue;
    const auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    const torch::Tensor w = wave(t.numel(), 0.37 + 0.013 * k++);
    torch::Tensor v;
    if (ends("running_var"))
      v = 1.0 + 0.3 * w.abs();
    else if (ends("running_mean") || ends("bias"))
      v = 0.1 * w;
    else if (t.dim() == 1)
      v = 1.0 + 0.2 * w;
    else
      v = w * (1.0 / std::sqrt(static_cast<double>(t.numel() / t.size(0))));
    t.copy_(v.view(t.sizes()));
  }
  return keys;
}

// Two 300x300 images with integer values 0..255 (as float).
torch::Tensor images() {
  return torch::round(127.5 + 127.5 * wave(2 * 3 * 300 * 300, 0.0123)).view({2, 3, 300, 300});
}

ImageBatch batch_of(const torch::Tensor& raw, std::array<int, 2> original) {
  ImageBatch b;
  b.images = raw;
  for (int64_t i = 0; i < raw.size(0); ++i) {
    b.image_sizes.push_back({300, 300});
    b.original_sizes.push_back(original);
    b.image_ids.push_back(i);
    b.flipped.push_back(false);
  }
  return b;
}

}  // namespace

class TestSSDLite : public QObject {
  Q_OBJECT

  test::QfFixture fx;

  // |got - want| <= rtol * (scale of want) everywhere; prints the largest difference.
  static bool close(const std::string& what, const torch::Tensor& got, const torch::Tensor& want, double rtol) {
    return test::close_to_reference(what, got, want, 0, rtol);
  }

  static std::shared_ptr<SSDLite> formula_model() {
    SSDLiteOptions o;
    o.num_classes = 20;
    o.channels_last_train = false;  // the reference's layout: bit-equal training outputs
    auto model = std::make_shared<SSDLite>(o);
    fill_formula_weights(*model);
    return model;
  }

 private slots:
  void initTestCase() {
    fx.load("ssd_lite.pt");
    QVERIFY(fx.size() >= 10);
  }

  void structure_matches_reference() {
    SSDLiteOptions o;
    o.num_classes = 20;
    SSDLite model(o);
    const std::vector<std::string> keys = fill_formula_weights(model);
    const torch::Tensor bytes = fx("state_keys");
    std::string want(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), static_cast<size_t>(bytes.numel()));
    std::vector<std::string> want_keys;
    std::istringstream lines(want);
    for (std::string line; std::getline(lines, line);) want_keys.push_back(line);
    QCOMPARE(static_cast<int64_t>(keys.size()), fx("num_state_tensors").item<int64_t>());
    for (size_t i = 0; i < std::min(keys.size(), want_keys.size()); ++i)
      QVERIFY2(keys[i] == want_keys[i], qPrintable(QString::fromStdString(keys[i] + " vs " + want_keys[i])));
    int64_t params = 0;
    for (const auto& p : model.parameters()) params += p.numel();
    QCOMPARE(params, fx("num_parameters").item<int64_t>());  // 3,388,228
    // Hand-computed: the first prior is the 60-pixel square of cell (0, 0) of the 19x19 map, centre
    // 0.5 * 16 = 8 pixels: corners -22 and 38; the order is the heads'.
    const torch::Tensor anchors = model.anchors_for({375, 500});
    QCOMPARE(anchors.size(0), 3000);
    QVERIFY(torch::allclose(anchors[0], torch::tensor({-22.f, -22.f, 38.f, 38.f}), 0, 1e-4));
  }

  void eval_outputs_match_reference() {
    auto model = formula_model();
    model->eval();
    torch::NoGradGuard no_grad;
    const ImageBatch batch = batch_of(images(), {375, 500});
    const auto [logits, locations] = model->forward(model->normalise(batch));
    QCOMPARE(logits.sizes(), (torch::IntArrayRef{2, 3000, 21}));
    QVERIFY(close("eval/logits0", logits[0], fx("eval/logits0"), 1e-5));
    QVERIFY(close("eval/locations0", locations[0], fx("eval/locations0"), 1e-5));
    QVERIFY(close("eval/logits1_sum", logits[1].sum(0), fx("eval/logits1_sum"), 1e-5));
    QVERIFY(close("eval/locations1_sum", locations[1].sum(0), fx("eval/locations1_sum"), 1e-5));
  }

  void detections_match_reference() {
    auto model = formula_model();
    model->eval();
    torch::NoGradGuard no_grad;
    const std::vector<Instances> out = model->predict(batch_of(images(), {375, 500}));
    for (int i = 0; i < 2; ++i) {
      const std::string p = "predict" + std::to_string(i) + "/";
      const torch::Tensor want_scores = fx(p + "scores"), want_labels = fx(p + "labels"), want_boxes = fx(p + "boxes");
      QVERIFY(want_scores.size(0) > 1000);  // hundreds of detections compared
      QCOMPARE(out[i].size(), want_scores.size(0));
      // Ours are sorted by score (stable); the reference's by class, then as NMS kept them (by score
      // within a class). Put the reference's in our order to compare row by row.
      const torch::Tensor order = std::get<1>(want_scores.sort(/*stable=*/true, 0, /*descending=*/true));
      QVERIFY(torch::equal(out[i].labels + 1, want_labels.index({order}).to(torch::kLong)));
      QVERIFY(close(p + "scores", out[i].scores, want_scores.index({order}), 1e-5));
      QVERIFY(close(p + "boxes", out[i].boxes, want_boxes.index({order}), 1e-5));
      QVERIFY(!out[i].masks.defined());
    }
  }

  void training_step_matches_reference() {
    auto model = formula_model();
    model->train();
    const ImageBatch batch = batch_of(images(), {300, 300});
    std::vector<InstanceTargets> targets(2);
    targets[0].boxes = torch::tensor({30.f, 36.f, 156.f, 180.f, 120.f, 135.f, 144.f, 156.f, 15.f, 210.f, 285.f, 234.f})
                           .view({3, 4});
    targets[0].labels = torch::tensor({2, 0, 19}, torch::kLong);  // the reference's 3, 1, 20
    targets[1].boxes = torch::tensor({90.f, 90.f, 150.f, 150.f, 93.f, 90.f, 150.f, 153.f}).view({2, 4});
    targets[1].labels = torch::tensor({1, 4}, torch::kLong);
    const LossTerms losses = model->losses(batch, targets);
    QCOMPARE(losses.size(), size_t{2});
    QCOMPARE(QString::fromStdString(losses[0].first), QString("loss_regression"));
    QVERIFY(close("train/regression", losses[0].second.reshape({1}), fx("train/regression"), 1e-5));
    QVERIFY(close("train/classification", losses[1].second.reshape({1}), fx("train/classification"), 1e-5));
    (losses[0].second + losses[1].second).backward();
    const auto params = model->named_parameters();
    QVERIFY(close("grad base_net.0.0.weight", params["base_net.0.0.weight"].grad(),
                  fx("train/grad/base_net.0.0.weight"), 1e-4));
    for (const std::string name : {"classification_headers.0.3.weight", "regression_headers.0.3.bias"}) {
      const torch::Tensor grad = params[name].grad();
      QVERIFY(grad.abs().max().item<float>() > 1e-6);
      QVERIFY(close("grad " + name, grad, fx("train/grad/" + name), 1e-4));
    }
    QVERIFY(close("base_net.0.1.running_mean", model->named_buffers()["base_net.0.1.running_mean"],
                  fx("train/base_net.0.1.running_mean"), 1e-5));
    // An image without objects: every prior background, nothing mined: zero losses, no NaN.
    std::vector<InstanceTargets> none(2);
    for (auto& t : none) t.boxes = torch::zeros({0, 4}), t.labels = torch::zeros({0}, torch::kLong);
    const LossTerms empty = model->losses(batch, none);
    QCOMPARE(empty[0].second.item<float>(), 0.f);
    QCOMPARE(empty[1].second.item<float>(), 0.f);
  }

  void weights_import_round_trip() {
    // A state dict under the reference's names (what torch.save(net.state_dict()) holds) imports
    // key for key: the same outputs; a file with another number of classes names the head's key
    // and both shapes.
    QTemporaryDir dir;
    const std::string path = dir.filePath("ssd.pth").toStdString();
    auto source = formula_model();
    write_pth(path, module_entries(*source));
    SSDLiteOptions o;
    o.num_classes = 20;
    SSDLite copy(o);
    const ImportReport report = import_entries(copy, read_pth(path), "mb2_ssd_lite");
    QVERIFY2(report.ok(), report.summary().c_str());
    QCOMPARE(report.matched.size(), size_t{404});  // 478 state tensors less 74 BatchNorm counters
    source->eval();
    copy.eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = SSDLite(o).normalise(batch_of(images().slice(0, 0, 1), {300, 300}));
    QVERIFY(torch::equal(source->forward(x).first, copy.forward(x).first));
    o.num_classes = 2;
    SSDLite small(o);
    const ImportReport mismatch = import_entries(small, read_pth(path), "mb2_ssd_lite");
    QVERIFY(!mismatch.ok());
    bool named = false;
    for (const auto& m : mismatch.shape_mismatch)
      named = named || m == "classification_headers.5.weight: file [126, 64, 1, 1], model [18, 64, 1, 1]";
    QVERIFY2(named, mismatch.summary().c_str());
  }

  void channels_last_training_is_the_same_function() {
    // Training runs channels-last by default. In float64, where rounding cannot flip a hard-negative
    // choice, its losses and gradients equal the NCHW ones to 1e-9 of their scale. (In float32 the
    // gradients of a freshly initialised SSD differ by a few percent between the layouts, in the
    // reference too: mining on near-equal losses and BatchNorm on batch statistics.)
    torch::manual_seed(5);
    SSDLiteOptions o;
    o.num_classes = 4;
    SSDLite nchw(o), nhwc(o);
    nchw.to(torch::kDouble);
    nhwc.to(torch::kDouble);
    {
      torch::NoGradGuard no_grad;
      const auto from = nchw.named_parameters();
      for (auto& p : nhwc.named_parameters()) p.value().copy_(from[p.key()]);
      const auto from_buffers = nchw.named_buffers();
      for (auto& b : nhwc.named_buffers()) b.value().copy_(from_buffers[b.key()]);
    }
    nchw.train();
    nhwc.train();
    const torch::Tensor x = ((images().slice(0, 0, 2) - 127) / 128).to(torch::kDouble);
    const auto [c0, l0] = nchw.forward(x, false);
    const auto [c1, l1] = nhwc.forward(x, true);
    QVERIFY(close("logits, channels-last vs NCHW (float64)", c1, c0, 1e-9));
    QVERIFY(close("offsets, channels-last vs NCHW (float64)", l1, l0, 1e-9));
    (c0.pow(2).mean() + l0.pow(2).mean()).backward();
    (c1.pow(2).mean() + l1.pow(2).mean()).backward();
    for (const std::string name : {"classification_headers.0.3.weight", "extras.0.conv.6.weight", "base_net.0.0.weight"})
      QVERIFY(close("grad " + name + ", channels-last vs NCHW (float64)", nhwc.named_parameters()[name].grad(),
                    nchw.named_parameters()[name].grad(), 1e-9));
  }

  void built_from_a_recipe() {
    QTemporaryDir dir;
    const auto write = [&](const std::string& name, const std::string& text) {
      const std::string path = dir.filePath(QString::fromStdString(name)).toStdString();
      QFile f(QString::fromStdString(path));
      if (!f.open(QIODevice::WriteOnly)) throw std::runtime_error("cannot write " + path);
      f.write(text.c_str());
      return path;
    };
    const Config ok = Config::load(
        write("ok.yaml", "model:\n  type: ssd_mobilenetv2_lite\n  num_classes: 3\n  test:\n    max_per_img: 50\n"));
    DetectorPtr model = build_model(ok.at("model"));
    QCOMPARE(model->num_classes(), 3);
    auto* ssd = dynamic_cast<SSDLite*>(model.get());
    QVERIFY(ssd != nullptr);
    QCOMPARE(ssd->options().test.max_per_img, 50);
    QCOMPARE(ssd->options().test.nms_thr, 0.45);
    STUDIO_EXPECT_ERROR((void)build_model(Config::load(write("s.yaml", "model:\n  type: ssd_mobilenetv2_lite\n"
                                                                       "  num_classes: 3\n  image_size: 512\n"))
                                              .at("model")),
                        "s.yaml:4", "model.image_size", "300");
    STUDIO_EXPECT_ERROR((void)build_model(Config::load(write("k.yaml", "model:\n  type: ssd_mobilenetv2_lite\n"
                                                                       "  num_classes: 3\n  test:\n    nms: 0.4\n"))
                                              .at("model")),
                        "nms");
  }
};

QTEST_APPLESS_MAIN(TestSSDLite)
#include "test_ssd_lite.moc"
