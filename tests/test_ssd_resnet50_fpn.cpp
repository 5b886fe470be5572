// SSD-ResNet50-FPN (modeling/meta_arch/ssd_resnet50_fpn.h) against MindSpore's reference code: the
// fixture tests/data/mindspore/ssd_r50fpn.pt holds what its numpy anchor generator, encoder,
// decoder and NMS return, and torchvision's sigmoid_focal_loss, for formula inputs
// (tests/mindspore/make_ssd_r50fpn_fixtures.py). Plus hand-computed checks of the SAME padding,
// the legacy bilinear resize, the network's shapes and names, postprocessing, and a learning check.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QtTest>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "modeling/meta_arch/ssd_resnet50_fpn.h"
#include "modeling/model_factory.h"
#include "modeling/ops/grid_anchor_ssd/grid_anchor_ssd.h"
#include "qfgaohao_support.h"
#include "test_support.h"

using namespace studio;

namespace {

using test::close_to_reference;
using test::same_as_reference;
using test::wave;

// The script's gt_boxes_yxyx(): (y1, x1, y2, x2) relative, then the label.
std::pair<torch::Tensor, torch::Tensor> gt_boxes() {
  const torch::Tensor t = torch::tensor({0.10f, 0.12f, 0.52f, 0.60f, 3.f, 0.40f, 0.45f, 0.48f, 0.52f,  1.f,
                                         0.05f, 0.70f, 0.95f, 0.78f, 7.f, 0.45f, 0.10f, 0.98f, 0.55f,  3.f,
                                         0.00f, 0.00f, 0.30f, 0.25f, 80.f, 0.401f, 0.45f, 0.48f, 0.521f, 5.f,
                                         0.20f, 0.20f, 0.23f, 0.215f, 2.f})
                            .view({7, 5});
  return {t.slice(1, 0, 4).contiguous(), t.select(1, 4).to(torch::kLong)};
}

SSDResNetFPNOptions small_options() {
  SSDResNetFPNOptions o;
  o.num_classes = 3;
  o.image_size = 128;
  o.depth = 18;
  o.fpn_channels = 32;
  o.tower_convs = 2;
  o.anchor_scale = 2.0;
  return o;
}

}  // namespace

class TestSSDResNet50FPN : public QObject {
  Q_OBJECT

  test::QfFixture fx_;

 private slots:
  void initTestCase() {
    at::set_num_threads(2);
    fx_.load("ssd_r50fpn.pt", "mindspore");
  }

  void anchors_equal_the_reference_generator() {
    const GridAnchors a = grid_anchors(GridAnchorOptions{});
    QCOMPARE(a.yxhw.size(0), 51150);
    QVERIFY(close_to_reference("anchors (cy, cx, h, w)", a.yxhw, fx_("anchors/yxhw"), 1e-6));
    QVERIFY(close_to_reference("anchors (y1, x1, y2, x2)", a.yxyx, fx_("anchors/yxyx"), 1e-6));
    // By hand, in pixels: the first location's six anchors of stride 8 (base 32).
    const torch::Tensor px = a.yxhw.slice(0, 0, 6) * 640;
    QVERIFY(torch::allclose(px.select(1, 0), torch::full({6}, 4.0f)));
    QVERIFY(torch::allclose(px[0], torch::tensor({4.f, 4.f, 32.f, 32.f})));
    QVERIFY(torch::allclose(px[1], torch::tensor({4.f, 4.f, 32.f * std::sqrt(2.f), 32.f * std::sqrt(2.f)})));
    QVERIFY(torch::allclose(px[2], torch::tensor({4.f, 4.f, 32.f / std::sqrt(2.f), 32.f * std::sqrt(2.f)})));
    // The last anchor: stride 128, centre 576 + 64, ratio 0.5 at scale sqrt 2.
    QVERIFY(torch::allclose(a.yxhw[51149] * 640,
                            torch::tensor({576.f, 576.f, 512.f * std::sqrt(2.f) * std::sqrt(2.f), 512.f})));
  }

  void encoder_equals_ssd_bboxes_encode() {
    const GridAnchors a = grid_anchors(GridAnchorOptions{});
    const auto [boxes, labels] = gt_boxes();
    const GridAnchorTargets t = grid_anchor_encode(boxes, labels, a);
    const torch::Tensor index = t.labels.nonzero().squeeze(1);
    QVERIFY(same_as_reference("matched anchors", index, fx_("encode/index")));
    QVERIFY(same_as_reference("matched labels", t.labels.index_select(0, index), fx_("encode/labels")));
    QVERIFY(close_to_reference("encoded offsets", t.locations.index_select(0, index), fx_("encode/locations"), 1e-5));
    QCOMPARE(t.num_matched, fx_("encode/num_match").item<int64_t>());
    // Unmatched anchors: label 0 and offsets 0. The small box at (0.2, 0.2) overlaps no anchor by
    // 0.5: it has its best anchor only.
    QCOMPARE(t.locations.abs().sum(1).gt(0).sum().item<int64_t>(), t.num_matched);
    QCOMPARE(t.labels.eq(2).sum().item<int64_t>(), 1);
    // No ground truth: everything background.
    const GridAnchorTargets none = grid_anchor_encode(torch::zeros({0, 4}), torch::zeros({0}, torch::kLong), a);
    QCOMPARE(none.num_matched, 0);
    QCOMPARE(none.labels.abs().sum().item<int64_t>(), 0);
  }

  void decoder_equals_ssd_bboxes_decode() {
    const GridAnchors a = grid_anchors(GridAnchorOptions{});
    const int64_t n = 51150;
    const torch::Tensor loc = torch::stack({wave(n, 0.37), wave(n, 0.11, 0.8), wave(n, 0.23, 0.5), wave(n, 0.05, 0.7)}, 1);
    const torch::Tensor got = grid_anchor_decode(loc, a.yxhw).slice(0, 0, n, 7);
    QVERIFY(close_to_reference("decoded corners", got, fx_("decode/yxyx"), 1e-6));
    // Round trip on the matched anchors: decode(encode(box)) is the box.
    const auto [boxes, labels] = gt_boxes();
    const GridAnchorTargets t = grid_anchor_encode(boxes, labels, a);
    const torch::Tensor back = grid_anchor_decode(t.locations, a.yxhw);
    const torch::Tensor matched = t.labels.eq(7).nonzero().squeeze(1);
    QVERIFY(matched.size(0) > 0);
    QVERIFY(torch::allclose(back.index_select(0, matched), boxes[2].unsqueeze(0).expand({matched.size(0), 4}), 0, 1e-5));
  }

  void focal_loss_equals_torchvision() {
    const torch::Tensor logits = wave(2 * 300 * 81, 0.013, 4.0).view({2, 300, 81});
    torch::Tensor labels = (torch::arange(600).view({2, 300}) * 7) % 81;
    labels.slice(1, 0, 300, 3).zero_();
    const torch::Tensor one_hot = torch::nn::functional::one_hot(labels, 81).to(torch::kFloat);
    QVERIFY(close_to_reference("focal loss", sigmoid_focal_loss(logits, one_hot), fx_("focal/loss"), 1e-7, 1e-6));
    // By hand: logit 0 against a positive: ln 2 * 0.5^2 * 0.25.
    const double at_zero = sigmoid_focal_loss(torch::zeros({1}), torch::ones({1})).item<double>();
    QVERIFY(std::abs(at_zero - std::log(2.0) * 0.25 * 0.25) < 1e-7);
  }

  void nms_equals_apply_nms() {
    const torch::Tensor cy = wave(300, 0.7, 150, 320), cx = wave(300, 1.3, 150, 320);
    const torch::Tensor h = wave(300, 0.9, 30, 60), w = wave(300, 0.4, 30, 60);
    const torch::Tensor boxes = torch::stack({cy - h, cx - w, cy + h, cx + w}, 1);
    const torch::Tensor scores = wave(300, 2.1, 0.5, 0.5);
    QVERIFY(same_as_reference("nms keep 100", nms_plus_one(boxes, scores, 0.6, 100), fx_("nms/keep100")));
    QVERIFY(same_as_reference("nms keep 5", nms_plus_one(boxes, scores, 0.6, 5), fx_("nms/keep5")));
    // +1-pixel areas: [0, 0, 1, 1] and [0, 1, 1, 2] (y1, x1, y2, x2) share one pixel column of two:
    // IoU 2 / 6 with +1 areas (0 without), so threshold 0.3 drops the second.
    const torch::Tensor two = torch::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 2.f}).view({2, 4});
    QCOMPARE(nms_plus_one(two, torch::tensor({0.9f, 0.8f}), 0.3, 100).size(0), 1);
    QCOMPARE(nms_plus_one(two, torch::tensor({0.9f, 0.8f}), 0.34, 100).size(0), 2);
  }

  void same_padding_is_tensorflows() {
    // A 3x3 / 2 window of ones over a 4x4 image of ones: TF pads (0, 1), so the outputs count the
    // pixels inside: 9, 6 / 6, 4.
    const torch::Tensor x = pad_same(torch::ones({1, 1, 4, 4}), 3, 2);
    QCOMPARE(x.size(2), 5);
    const torch::Tensor y = torch::conv2d(x, torch::ones({1, 1, 3, 3}), {}, 2);
    QVERIFY(torch::equal(y.view({4}), torch::tensor({9.f, 6.f, 6.f, 4.f})));
    // The 7x7 / 2 stem on 640: 2 before, 3 after; odd 5x5 with 3x3 / 2: 1 and 1.
    const torch::Tensor stem = pad_same(torch::ones({1, 1, 640, 640}), 7, 2);
    QCOMPARE(stem.size(2), 645);
    QCOMPARE(stem[0][0][1][2].item<float>(), 0.f);
    QCOMPARE(stem[0][0][2][2].item<float>(), 1.f);
    QCOMPARE(stem[0][0][641][641].item<float>(), 1.f);
    QCOMPARE(stem[0][0][642][641].item<float>(), 0.f);
    QCOMPARE(pad_same(torch::ones({1, 1, 5, 5}), 3, 2).size(3), 7);
    QCOMPARE(pad_same(torch::ones({1, 1, 8, 8}), 1, 2).size(3), 8);  // 1x1 / 2: none
  }

  void legacy_bilinear_resize() {
    // Source = dest * in / out (no half-pixel offset), the last row and column repeat.
    const torch::Tensor x = torch::tensor({1.f, 2.f, 3.f, 4.f}).view({1, 1, 2, 2});
    const torch::Tensor want = torch::tensor({1.f, 1.5f, 2.f, 2.f, 2.f, 2.5f, 3.f, 3.f, 3.f, 3.5f, 4.f, 4.f, 3.f, 3.5f,
                                              4.f, 4.f})
                                   .view({1, 1, 4, 4});
    QVERIFY(torch::equal(resize_bilinear_legacy(x, 4, 4), want));
    // PyTorch's half-pixel bilinear differs (its first value is 1, its second 1.25).
    namespace F = torch::nn::functional;
    const torch::Tensor half = F::interpolate(
        x, F::InterpolateFuncOptions().size(std::vector<int64_t>{4, 4}).mode(torch::kBilinear).align_corners(false));
    QVERIFY(!torch::equal(half, want));
  }

  void network_shapes_and_names() {
    torch::manual_seed(0);
    SSDResNetFPNOptions o;  // the reference: ResNet-50, 640, 81 columns
    SSDResNetFPN model(o);
    model.eval();
    std::set<std::string> keys;
    for (const auto& p : model.named_parameters()) keys.insert(p.key());
    for (const auto& b : model.named_buffers()) keys.insert(b.key());
    for (const char* key : {"feature_extractor.resnet.conv1.weight", "feature_extractor.resnet.bn1.running_var",
                            "feature_extractor.resnet.layer1.0.down_sample_layer.0.weight",
                            "feature_extractor.resnet.layer4.2.bn3.weight",
                            "feature_extractor.fpn.lateral_convs_list.2.bias",
                            "feature_extractor.fpn.fpn_convs_list.0.1.running_mean",
                            "feature_extractor.bottom_up.blocks.1.0.weight", "multi_box.loc_convs.3.bias",
                            "multi_box.addition_layer_cls.4.3.running_var", "multi_box.cls_layers.0.weight"})
      QVERIFY2(keys.count(key) == 1, key);
    QVERIFY(keys.count("feature_extractor.resnet.conv1.bias") == 0);  // the backbone's convs have none
    // The last BN of a block starts at gamma 0; conv weights TruncatedNormal(0.02) within 2 sigma.
    for (const auto& p : model.named_parameters()) {
      if (p.key() == "feature_extractor.resnet.layer2.1.bn3.weight") QCOMPARE(p.value().abs().sum().item<float>(), 0.f);
      if (p.key() == "multi_box.cls_layers.0.weight") {
        QVERIFY(p.value().abs().max().item<float>() <= 0.04f);
        QVERIFY(std::abs(p.value().std().item<float>() - 0.0176f) < 0.002f);  // truncated N(0, 0.02)
        QCOMPARE(p.value().size(0), 6 * 81);
      }
    }
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::rand({1, 3, 640, 640}) * 2 - 1;
    const std::vector<torch::Tensor> f = model.features(x);
    QCOMPARE(f.size(), size_t{5});
    for (size_t i = 0; i < 5; ++i) {
      QCOMPARE(f[i].size(1), 256);
      QCOMPARE(f[i].size(2), 80 >> i);
    }
    for (const auto& level : f) QVERIFY(level.min().item<float>() >= 0 && level.max().item<float>() <= 6);  // ReLU6
    const auto [loc, logits] = model.forward(x);
    QCOMPARE(loc.sizes(), (torch::IntArrayRef{1, 51150, 4}));
    QCOMPARE(logits.sizes(), (torch::IntArrayRef{1, 51150, 81}));
  }

  void postprocess_by_class_with_the_references_rules() {
    SSDResNetFPNOptions o = small_options();
    o.test.max_per_class = 2;
    SSDResNetFPN model(o);
    // Four anchors, 3 classes + background; boxes (y1, x1, y2, x2) relative; the image is 100 x 200.
    const torch::Tensor yxyx = torch::tensor({0.1f, 0.1f, 0.5f, 0.5f, 0.1f, 0.1f, 0.5f, 0.52f, 0.6f, 0.6f, 0.9f, 0.9f,
                                              0.0f, 0.0f, 0.2f, 0.2f})
                                   .view({4, 4});
    const torch::Tensor scores = torch::tensor({0.9f, 0.8f, 0.05f, 0.0f,   // anchor 0
                                                0.9f, 0.7f, 0.3f,  0.0f,   // anchor 1: overlaps 0
                                                0.9f, 0.6f, 0.1f,  0.0f,   // anchor 2: class 2 at the threshold
                                                0.9f, 0.65f, 0.0f, 0.0f})  // anchor 3
                                     .view({4, 4});
    const Instances d = model.postprocess(scores, yxyx, {100, 200});
    // Class 1 (index 0): anchors 0 (0.8), 3 (0.65), 1 dropped by NMS, 2 over max_per_class 2.
    // Class 2 (index 1): anchor 1 (0.3); 0.1 is not above 0.1. Sorted by score.
    QCOMPARE(d.size(), 3);
    QVERIFY(torch::allclose(d.scores, torch::tensor({0.8f, 0.65f, 0.3f})));
    QVERIFY(torch::equal(d.labels, torch::tensor({0, 0, 1}, torch::kLong)));
    // x1, y1, x2, y2 in pixels: x by the width 200, y by the height 100.
    QVERIFY(torch::allclose(d.boxes[0], torch::tensor({20.f, 10.f, 100.f, 50.f})));
    QVERIFY(torch::allclose(d.boxes[2], torch::tensor({20.f, 10.f, 104.f, 50.f})));
  }

  void loss_falls_on_one_batch() {
    torch::manual_seed(1);
    SSDResNetFPNOptions o = small_options();
    o.cls_prior_prob = 0.01;
    SSDResNetFPN model(o);
    model.train();
    ImageBatch batch;
    batch.images = torch::rand({2, 3, 128, 128}) * 255;
    batch.image_sizes = {{128, 128}, {128, 128}};
    batch.original_sizes = batch.image_sizes;
    std::vector<InstanceTargets> targets(2);
    targets[0].boxes = torch::tensor({10.f, 20.f, 60.f, 80.f, 70.f, 70.f, 120.f, 100.f}).view({2, 4});
    targets[0].labels = torch::tensor({0, 2}, torch::kLong);
    targets[1].boxes = torch::tensor({30.f, 30.f, 90.f, 64.f}).view({1, 4});
    targets[1].labels = torch::tensor({1}, torch::kLong);
    torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    double first = 0, last = 0;
    QElapsedTimer timer;
    timer.start();
    for (int step = 0; step < 12; ++step) {
      const LossTerms terms = model.losses(batch, targets);
      QCOMPARE(terms.size(), size_t{2});
      torch::Tensor total = terms[0].second + terms[1].second;
      QVERIFY(std::isfinite(total.item<double>()));
      if (step == 0) first = total.item<double>();
      last = total.item<double>();
      opt.zero_grad();
      total.backward();
      torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
      opt.step();
    }
    qInfo("loss %.4f -> %.4f (%lld ms)", first, last, static_cast<long long>(timer.elapsed()));
    QVERIFY(last < 0.5 * first);
    // A batch without objects: zero terms that still backpropagate.
    std::vector<InstanceTargets> empty(2);
    for (auto& t : empty) {
      t.boxes = torch::zeros({0, 4});
      t.labels = torch::zeros({0}, torch::kLong);
    }
    const LossTerms zero = model.losses(batch, empty);
    QCOMPARE(zero[0].second.item<double>(), 0.0);
    model.eval();
    torch::NoGradGuard no_grad;
    const std::vector<Instances> d = model.predict(batch);
    QCOMPARE(d.size(), size_t{2});
    QCOMPARE(model.anchors_for({128, 128}).size(0), 6 * (16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1));
  }

  void built_from_a_recipe() {
    const Config ok = Config::parse("model:\n  type: ssd_resnet50_fpn\n  num_classes: 3\n  image_size: 128\n"
                                    "  depth: 18\n  fpn_channels: 16\n  test:\n    max_per_class: 20\n",
                                    "ok.yaml");
    DetectorPtr model = build_model(ok.at("model"));
    auto* ssd = dynamic_cast<SSDResNetFPN*>(model.get());
    QVERIFY(ssd != nullptr);
    QCOMPARE(ssd->options().test.max_per_class, 20);
    QCOMPARE(ssd->options().test.nms_thr, 0.6);
    QCOMPARE(ssd->backbone_name(), std::string("feature_extractor.resnet"));
    STUDIO_EXPECT_ERROR((void)build_model(Config::parse("model:\n  type: ssd_resnet50_fpn\n  num_classes: 3\n"
                                                        "  depth: 34\n",
                                                        "d.yaml")
                                              .at("model")),
                        "d.yaml:4", "model.depth", "50");
    STUDIO_EXPECT_ERROR((void)build_model(Config::parse("model:\n  type: ssd_resnet50_fpn\n  num_classes: 3\n"
                                                        "  test:\n    nms: 0.4\n",
                                                        "k.yaml")
                                              .at("model")),
                        "nms");
    STUDIO_EXPECT_ERROR((void)build_model(Config::parse("model:\n  type: ssd_resnet50_fpn\n  num_classes: 3\n"
                                                        "  backbone_init: xavier\n",
                                                        "i.yaml")
                                              .at("model")),
                        "i.yaml:4", "model.backbone_init", "kaiming", "xavier");
  }

  // backbone_init: the reference's TruncatedNormal(0.02) everywhere, or torchvision's kaiming normal
  // (std sqrt(2 / fan_out)) on the ResNet's convs only: a 3x3 conv of layer1 (64 outputs) at std
  // sqrt(2 / 576) = 0.059; the head's convs keep the reference's init either way.
  void backbone_init() {
    const auto stds = [](const std::string& init) {
      torch::manual_seed(3);
      SSDResNetFPNOptions o;
      o.num_classes = 3;
      o.image_size = 128;
      o.depth = 18;
      o.fpn_channels = 16;
      o.backbone_init = init;
      SSDResNetFPN model(o);
      std::map<std::string, double> out;
      for (const auto& p : model.named_parameters())
        if (p.key() == "feature_extractor.resnet.layer1.0.conv1.weight" || p.key() == "multi_box.loc_convs.0.weight")
          out[p.key()] = p.value().std().item<double>();
      return out;
    };
    const auto reference = stds("truncated_normal"), kaiming = stds("kaiming");
    QCOMPARE(reference.size(), size_t{2});
    QVERIFY(std::abs(reference.at("feature_extractor.resnet.layer1.0.conv1.weight") - 0.0176) < 0.002);
    QVERIFY(std::abs(kaiming.at("feature_extractor.resnet.layer1.0.conv1.weight") - std::sqrt(2.0 / 576)) < 0.003);
    QVERIFY(std::abs(kaiming.at("multi_box.loc_convs.0.weight") - 0.0176) < 0.002);
  }
};

QTEST_APPLESS_MAIN(TestSSDResNet50FPN)
#include "test_ssd_resnet50_fpn.moc"
