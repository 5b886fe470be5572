// Mask R-CNN (core/modeling/meta_arch/mask_rcnn.h) without fixtures: the structure torchvision's
// checkpoints need (parameter count, key names), the input transform's size rule, the anchors a
// recipe gives, the recipe errors, and training on a tiny batch (the losses are finite and fall).
// Output parity with torchvision itself is tests/test_mask_rcnn_torchvision.cpp.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "modeling/meta_arch/mask_rcnn.h"
#include "modeling/model_factory.h"
#include "test_support.h"

using namespace studio;
using namespace studio::test;

namespace {

int64_t count_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

MaskRCNNOptions r50_options(int num_classes) {
  MaskRCNNOptions o;
  o.num_classes = num_classes;
  o.backbone.type = "resnet50";
  o.neck.layout = "torchvision";
  return o;
}

// A model small enough to train a few steps in a test: ResNet-18, 32-channel FPN, 64-pixel images.
std::shared_ptr<MaskRCNN> tiny_model() {
  MaskRCNNOptions o;
  o.num_classes = 2;
  o.transform.min_size = {64};
  o.transform.max_size = 96;
  o.backbone.type = "resnet18";
  o.backbone.norm = "bn";
  o.backbone.frozen_stages = -1;
  o.neck.layout = "torchvision";
  o.neck.out_channels = 32;
  o.rpn.anchors.sizes = {{8}, {16}, {32}, {64}, {128}};
  o.rpn.pre_nms_top_n_train = 200;
  o.rpn.post_nms_top_n_train = 100;
  o.rpn.pre_nms_top_n_test = 100;
  o.rpn.post_nms_top_n_test = 50;
  o.roi_heads.representation_size = 64;
  o.roi_heads.mask_channels = 16;
  o.roi_heads.batch_size_per_image = 64;
  return std::make_shared<MaskRCNN>(o);
}

}  // namespace

class TestMaskRCNN : public QObject {
  Q_OBJECT

 private slots:
  void parameters_and_keys_are_torchvisions() {
    torch::manual_seed(0);
    MaskRCNN model(r50_options(90));
    // torchvision's MaskRCNN_ResNet50_FPN_Weights.COCO_V1.meta["num_params"] (91 outputs).
    QCOMPARE(count_parameters(model), int64_t{44401393});
    std::set<std::string> keys;
    for (const auto& p : model.named_parameters()) keys.insert(p.key());
    for (const auto& b : model.named_buffers()) keys.insert(b.key());
    QCOMPARE(keys.size(), size_t{307});  // torchvision's state dict with FrozenBatchNorm2d
    for (const char* k :
         {"backbone.body.conv1.weight", "backbone.body.bn1.running_var", "backbone.body.layer4.2.conv3.weight",
          "backbone.body.layer1.0.downsample.1.running_mean", "backbone.fpn.inner_blocks.0.0.weight",
          "backbone.fpn.layer_blocks.3.0.bias", "rpn.head.conv.0.0.weight", "rpn.head.cls_logits.weight",
          "rpn.head.bbox_pred.bias", "roi_heads.box_head.fc6.weight", "roi_heads.box_head.fc7.bias",
          "roi_heads.box_predictor.cls_score.weight", "roi_heads.box_predictor.bbox_pred.weight",
          "roi_heads.mask_head.0.0.weight", "roi_heads.mask_head.3.0.bias", "roi_heads.mask_predictor.conv5_mask.weight",
          "roi_heads.mask_predictor.mask_fcn_logits.weight"})
      QVERIFY2(keys.count(k) == 1, k);
    const auto params = model.named_parameters();
    QCOMPARE(params["roi_heads.box_head.fc6.weight"].sizes().vec(), (std::vector<int64_t>{1024, 12544}));
    QCOMPARE(params["roi_heads.box_predictor.bbox_pred.weight"].sizes().vec(), (std::vector<int64_t>{364, 1024}));
    QCOMPARE(params["rpn.head.cls_logits.weight"].sizes().vec(), (std::vector<int64_t>{3, 256, 1, 1}));
    QCOMPARE(params["roi_heads.mask_predictor.conv5_mask.weight"].sizes().vec(),
             (std::vector<int64_t>{256, 256, 2, 2}));
    // conv1 and layer1 frozen (trainable_backbone_layers 3), layer2 trains.
    QVERIFY(!params["backbone.body.conv1.weight"].requires_grad());
    QVERIFY(!params["backbone.body.layer1.0.conv1.weight"].requires_grad());
    QVERIFY(params["backbone.body.layer2.0.conv1.weight"].requires_grad());
  }

  void resize_rule_is_torchvisions() {
    // 480x640 at 800/1333: scale 800/480 -> 800x1066 (REFERENCE.md 1.3): torchvision's scale is
    // reciprocal(480) * 800 = 1.66666675f; a float division would give 1.66666663f and 799 rows.
    QCOMPARE(rcnn_resized_size({480, 640}, 800, 1333), (std::array<int, 2>{800, 1066}));
    // The long side binds: 300x1000 -> scale 1.333 -> 399x1333 (floor of 399.9 in float32 * double).
    double scale = 0;
    const auto s = rcnn_resized_size({300, 1000}, 800, 1333, &scale);
    QCOMPARE(s[1], 1333);
    QCOMPARE(s[0], 399);
    QCOMPARE(scale, static_cast<double>((1.0f / 1000.0f) * 1333.0f));
  }

  void anchors_follow_the_padded_input() {
    torch::manual_seed(0);
    MaskRCNNOptions o = r50_options(2);
    o.backbone.type = "resnet18";  // anchors do not depend on the backbone's width
    MaskRCNN model(o);
    const torch::Tensor a = model.anchors_for({480, 640});  // -> 800x1066, padded 800x1088
    const int64_t cells = 200 * 272 + 100 * 136 + 50 * 68 + 25 * 34 + 13 * 17;
    QCOMPARE(a.size(0), 3 * cells);
    // The first anchor: P2's cell (0, 0), ratio 0.5 of size 32 (rounded base [-23, -11, 23, 11]).
    QVERIFY(torch::equal(a[0], torch::tensor({-23.f, -11.f, 23.f, 11.f})));
    // The last: P6 cell (12, 16) with strides 800 // 13 = 61 and 1088 // 17 = 64, ratio 2 of size 512.
    const torch::Tensor last = a[a.size(0) - 1];
    const float cx = 16 * 64, cy = 12 * 61;
    const auto base = generate_cell_anchors({512}, {0.5, 1.0, 2.0})[2];
    QVERIFY(torch::equal(last, base + torch::tensor({cx, cy, cx, cy})));
  }

  void recipe_errors_name_the_key() {
    QTemporaryDir dir;
    const std::string path = write_text(dir, "r.yaml",
                                        "model:\n  type: mask_rcnn\n  num_classes: 3\n  backbone:\n    type: resnet18\n"
                                        "  rpn:\n    anchor_sizes: [32, 64]\n");
    Config c = Config::load(path);
    STUDIO_EXPECT_ERROR((void)build_model(c.at("model")), "anchor_sizes has 2 sizes", "num_outs");
    const std::string bad = write_text(dir, "b.yaml",
                                       "model:\n  type: mask_rcnn\n  num_classes: 3\n  roi_heads:\n"
                                       "    sampling_ratio: -2\n");
    STUDIO_EXPECT_ERROR((void)build_model(Config::load(bad).at("model")), "b.yaml:5", "model.roi_heads.sampling_ratio");
    const std::string head = write_text(dir, "h.yaml", "model:\n  type: mask_rcnn\n  num_classes: 3\n  head: {}\n");
    STUDIO_EXPECT_ERROR((void)build_model(Config::load(head).at("model")), "head");
    const std::string thr = write_text(dir, "t.yaml",
                                       "model:\n  type: mask_rcnn\n  num_classes: 3\n  test:\n    score_thr: 1.5\n");
    STUDIO_EXPECT_ERROR((void)build_model(Config::load(thr).at("model")), "t.yaml:5", "model.test.score_thr");
  }

  void trains_on_a_tiny_batch() {
    torch::manual_seed(3);
    at::set_num_threads(2);
    auto model = tiny_model();
    model->train();
    // Two 70x90 images (values 0..255, the model normalises) with a bright square and a disc.
    ImageBatch batch;
    batch.images = torch::full({2, 3, 96, 96}, 40.f);
    std::vector<InstanceTargets> targets(2);
    for (int i = 0; i < 2; ++i) {
      batch.image_sizes.push_back({70, 90});
      batch.original_sizes.push_back({70, 90});
      batch.image_ids.push_back(i + 1);
      batch.flipped.push_back(false);
      InstanceTargets& t = targets[static_cast<size_t>(i)];
      t.masks = torch::zeros({2, 96, 96}, torch::kUInt8);
      const int x0 = 10 + 20 * i;
      t.masks[0].slice(0, 10, 40).slice(1, x0, x0 + 30).fill_(1);
      auto yy = torch::arange(96).view({-1, 1}), xx = torch::arange(96).view({1, -1});
      t.masks[1].copy_(((yy - 45).pow(2) + (xx - 65).pow(2) < 15 * 15).to(torch::kUInt8));
      t.masks[1].slice(0, 70).zero_();
      t.boxes = torch::tensor({{float(x0), 10.f, float(x0 + 30), 40.f}, {50.f, 30.f, 80.f, 60.f}});
      t.labels = torch::tensor({0, 1}, torch::kLong);
      batch.images[i].index_put_({torch::indexing::Slice(), t.masks[0].to(torch::kBool)}, 220.f);
      batch.images[i][1].masked_fill_(t.masks[1].to(torch::kBool), 250.f);
    }
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-3));
    std::vector<double> totals;
    for (int step = 0; step < 40; ++step) {
      const LossTerms terms = model->losses(batch, targets);
      QCOMPARE(terms.size(), size_t{5});
      QCOMPARE(terms[0].first, std::string("loss_classifier"));
      QCOMPARE(terms[4].first, std::string("loss_rpn_box_reg"));
      torch::Tensor total = torch::zeros({});
      for (const auto& [name, value] : terms) {
        QVERIFY2(std::isfinite(value.item<double>()), name.c_str());
        total = total + value;
      }
      opt.zero_grad();
      total.backward();
      opt.step();
      totals.push_back(total.item<double>());
    }
    const double first = (totals[0] + totals[1]) / 2, last = (totals[38] + totals[39]) / 2;
    QVERIFY2(last < 0.6 * first, qPrintable(QString("loss %1 -> %2").arg(first).arg(last)));

    // Inference at the original size: masks [K, 70, 90], boxes inside the image, labels 0..1.
    model->eval();
    torch::NoGradGuard no_grad;
    const std::vector<Instances> out = model->predict(batch);
    QCOMPARE(out.size(), size_t{2});
    for (const auto& inst : out) {
      QVERIFY(inst.size() > 0);
      QCOMPARE(inst.masks.sizes().vec(), (std::vector<int64_t>{inst.size(), 70, 90}));
      QCOMPARE(inst.masks.scalar_type(), torch::kBool);
      QVERIFY(inst.labels.min().item<int64_t>() >= 0 && inst.labels.max().item<int64_t>() <= 1);
      QVERIFY(inst.boxes.select(1, 2).max().item<float>() <= 90.f);
      QVERIFY(inst.boxes.select(1, 3).max().item<float>() <= 70.f);
      // sorted by score
      QVERIFY(torch::equal(inst.scores, std::get<0>(inst.scores.sort(0, true))));
    }
  }
};

QTEST_GUILESS_MAIN(TestMaskRCNN)
#include "test_mask_rcnn.moc"
