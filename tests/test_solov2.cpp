// SOLOv2: module shapes and checkpoint names, target assignment on a hand-built image, Dice and
// Focal loss by hand, inference (points NMS, filters, Matrix NMS, resizing, boxes) on hand-built
// head outputs, the model factory, and a short fixed-seed learning run of a tiny model.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "modeling/dense_heads/solov2_head.h"
#include "modeling/dense_heads/solov2_loss.h"
#include "modeling/dense_heads/solov2_mask_feature.h"
#include "modeling/dense_heads/solov2_targets.h"
#include "modeling/layers/resize.h"
#include "modeling/meta_arch/solov2.h"
#include "modeling/model_factory.h"
#include "test_support.h"

using namespace studio;

namespace {

SOLOv2HeadOptions tiny_head(int in_channels, int num_classes) {
  SOLOv2HeadOptions h;
  h.num_classes = num_classes;
  h.in_channels = in_channels;
  h.stacked_convs = 2;
  h.feat_channels = 16;
  h.kernel_out_channels = 8;
  h.num_grids = {12, 8, 6, 4, 2};
  h.scale_ranges = {{1, 48}, {24, 96}, {48, 192}, {96, 384}, {192, 2048}};
  h.norm_groups = 4;
  h.mask_feature.in_channels = in_channels;
  h.mask_feature.channels = 8;
  h.mask_feature.out_channels = 8;
  h.mask_feature.norm_groups = 4;
  return h;
}

SOLOv2Options tiny_model(int num_classes) {
  SOLOv2Options o;
  o.num_classes = num_classes;
  o.backbone.type = "resnet18";
  o.backbone.norm = "bn";
  o.backbone.frozen_stages = -1;
  o.backbone.pretrained = "";
  o.neck.out_channels = 32;
  o.neck.num_outs = 5;
  o.head = tiny_head(32, num_classes);
  o.head.feat_channels = 32;
  o.head.kernel_out_channels = 16;
  o.head.stacked_convs = 1;
  o.head.norm_groups = 8;
  o.head.mask_feature.channels = 16;
  o.head.mask_feature.norm_groups = 8;
  return o;
}

// FPN-like features of a 128 x 160 input: P2..P6.
std::vector<torch::Tensor> fake_fpn(int64_t b, int64_t c) {
  return {torch::randn({b, c, 32, 40}), torch::randn({b, c, 16, 20}), torch::randn({b, c, 8, 10}),
          torch::randn({b, c, 4, 5}), torch::randn({b, c, 2, 3})};
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

class TestSolov2 : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { at::set_num_threads(1); }

  void head_and_mask_feature_shapes_and_names() {
    torch::manual_seed(0);
    SOLOv2HeadOptions o = tiny_head(16, 3);
    SOLOv2Head head(o);
    SOLOv2MaskFeature mf(o.mask_feature);
    std::vector<torch::Tensor> feats = fake_fpn(2, 16);
    SOLOv2HeadOutput out = head->forward(feats);
    QCOMPARE(out.kernel_preds.size(), size_t(5));
    for (size_t l = 0; l < 5; ++l) {
      const int64_t s = o.num_grids[l];
      QCOMPARE(out.kernel_preds[l].sizes().vec(), (std::vector<int64_t>{2, 8, s, s}));
      QCOMPARE(out.cate_preds[l].sizes().vec(), (std::vector<int64_t>{2, 3, s, s}));
    }
    // The category prior: every class starts near probability 0.01.
    const double mean_prob = torch::sigmoid(out.cate_preds[0]).mean().item<double>();
    QVERIFY(std::abs(mean_prob - 0.01) < 0.003);
    torch::Tensor m = mf->forward(feats);
    QCOMPARE(m.sizes().vec(), (std::vector<int64_t>{2, 8, 32, 40}));
    QVERIFY(m.min().item<float>() >= 0);  // ends in ReLU

    // split_feats: P2 halved, P6 to P5's size.
    std::vector<torch::Tensor> r = solov2_resize_feats(feats);
    QCOMPARE(r[0].sizes().vec(), (std::vector<int64_t>{2, 16, 16, 20}));
    QCOMPARE(r[4].sizes().vec(), (std::vector<int64_t>{2, 16, 4, 5}));
    // A 3-level head (small images) takes P2..P4: P2 halved, P4 as it is (not the pooled P6).
    std::vector<torch::Tensor> r3 = solov2_resize_feats(feats, 3);
    QCOMPARE(r3.size(), size_t(3));
    QCOMPARE(r3[0].sizes().vec(), (std::vector<int64_t>{2, 16, 16, 20}));
    QVERIFY(r3[1].equal(feats[1]));
    QVERIFY(r3[2].equal(feats[2]));
    SOLOv2HeadOptions o3 = o;
    o3.num_grids = {12, 8, 6};
    o3.strides = {8, 8, 16};
    o3.scale_ranges = {{1, 48}, {24, 96}, {48, 2048}};
    SOLOv2HeadOutput out3 = SOLOv2Head(o3)->forward(feats);
    QCOMPARE(out3.kernel_preds.size(), size_t(3));
    QCOMPARE(out3.cate_preds.size(), size_t(3));
    QCOMPARE(out3.kernel_preds[2].sizes().vec(), (std::vector<int64_t>{2, 8, 6, 6}));
    // Under CPU autocast the maps are bfloat16: resized in float (LibTorch 1.13's bfloat16
    // bilinear is several times slower), returned in bfloat16, the same values as float's.
    const torch::Tensor half = feats[2].to(torch::kBFloat16);
    const torch::Tensor up = resize_bilinear(half, 12, 15);
    QCOMPARE(up.scalar_type(), torch::kBFloat16);
    QVERIFY(up.equal(resize_bilinear(half.to(torch::kFloat), 12, 15).to(torch::kBFloat16)));
    QCOMPARE(scale_bilinear(half, 2.0).sizes().vec(), (std::vector<int64_t>{2, 16, 16, 20}));
    // Doubling [[0, 4], [8, 12]]: the first row samples x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
    const torch::Tensor small = torch::tensor({0.f, 4.f, 8.f, 12.f}).view({1, 1, 2, 2}).to(torch::kBFloat16);
    const torch::Tensor row = scale_bilinear(small, 2.0)[0][0][0].to(torch::kFloat).contiguous();
    QCOMPARE(std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel()),
             (std::vector<float>{0, 1, 3, 4}));

    // Names and shapes the reference checkpoint uses.
    std::map<std::string, std::vector<int64_t>> params;
    for (const auto& p : head->named_parameters()) params[p.key()] = p.value().sizes().vec();
    QCOMPARE(params.size(), size_t(2 * 2 * 3 + 4));  // 2 x 2 ConvNorm (conv, gn w, gn b) + 2 convs (w, b)
    QCOMPARE(params["kernel_convs.0.conv.weight"], (std::vector<int64_t>{16, 18, 3, 3}));
    QCOMPARE(params["cate_convs.0.conv.weight"], (std::vector<int64_t>{16, 16, 3, 3}));
    QCOMPARE(params["kernel_convs.1.gn.weight"], (std::vector<int64_t>{16}));
    QCOMPARE(params["solo_kernel.weight"], (std::vector<int64_t>{8, 16, 3, 3}));
    QCOMPARE(params["solo_cate.bias"], (std::vector<int64_t>{3}));
    std::map<std::string, std::vector<int64_t>> mparams;
    for (const auto& p : mf->named_parameters()) mparams[p.key()] = p.value().sizes().vec();
    // Levels 0..3 hold 1, 1, 2, 3 ConvNorms, plus conv_pred: 8 x 3 tensors.
    QCOMPARE(mparams.size(), size_t(8 * 3));
    QCOMPARE(mparams["convs_all_levels.0.conv0.conv.weight"], (std::vector<int64_t>{8, 16, 3, 3}));
    QCOMPARE(mparams["convs_all_levels.2.conv1.conv.weight"], (std::vector<int64_t>{8, 8, 3, 3}));
    QCOMPARE(mparams["convs_all_levels.3.conv0.conv.weight"], (std::vector<int64_t>{8, 18, 3, 3}));  // + coords
    QCOMPARE(mparams["convs_all_levels.3.conv2.gn.bias"], (std::vector<int64_t>{8}));
    QCOMPARE(mparams["conv_pred.0.conv.weight"], (std::vector<int64_t>{8, 8, 1, 1}));
  }

  void targets_of_one_square() {
    // Padded input 128 x 128, mask features 32 x 32. One 40 x 40 square, box [20, 30, 60, 70],
    // mask rows 30..69, cols 20..59, label 3 of 5. sqrt(w h) = 40: levels 0 [1, 48] and 1 [24, 96].
    // Centre of mass (39.5, 49.5); half_w = half_h = 0.5 * 40 * 0.2 = 4.
    // Level 0 (S 12): centre cell (floor(49.5 / 128 * 12), floor(39.5 / 128 * 12)) = (4, 3);
    //   rows floor(45.5 * 12 / 128) = 4 .. floor(53.5 * 12 / 128) = 5, cols 3 .. floor(43.5 * 12 / 128) = 4
    //   -> cells (4,3) (4,4) (5,3) (5,4) = 51, 52, 63, 64.
    // Level 1 (S 8): centre (3, 2); rows 2..3, cols 2..2 -> cells 18, 26.
    InstanceTargets gt;
    gt.labels = torch::tensor({3}, torch::kLong);
    gt.boxes = torch::tensor({20.f, 30.f, 60.f, 70.f}).view({1, 4});
    gt.masks = torch::zeros({1, 128, 128}, torch::kUInt8);
    gt.masks[0].slice(0, 30, 70).slice(1, 20, 60).fill_(1);
    SOLOv2TargetOptions o;
    o.num_classes = 5;
    o.num_grids = {12, 8, 6, 4, 2};
    o.scale_ranges = {{1, 48}, {24, 96}, {48, 192}, {96, 384}, {192, 2048}};
    o.sigma = 0.2;
    std::vector<SOLOv2LevelTargets> t = solov2_targets(gt, o, {32, 32});
    QCOMPARE(t.size(), size_t(5));
    QCOMPARE(t[0].grid_order.sizes().vec(), (std::vector<int64_t>{4}));
    QVERIFY(torch::equal(t[0].grid_order, torch::tensor({51, 52, 63, 64}, torch::kLong)));
    QVERIFY(torch::equal(t[1].grid_order, torch::tensor({18, 26}, torch::kLong)));
    for (int l = 2; l < 5; ++l) {
      QCOMPARE(t[l].grid_order.numel(), int64_t(0));
      QCOMPARE(t[l].masks.sizes().vec(), (std::vector<int64_t>{0, 32, 32}));
      QCOMPARE(t[l].positive.sum().item<int64_t>(), int64_t(0));
    }
    QCOMPARE(t[0].cate_labels.numel(), int64_t(144));
    QCOMPARE(t[0].positive.sum().item<int64_t>(), int64_t(4));
    for (int64_t c : {51, 52, 63, 64}) {
      QCOMPARE(t[0].cate_labels[c].item<int64_t>(), int64_t(3));
      QVERIFY(t[0].positive[c].item<bool>());
    }
    QCOMPARE(t[0].cate_labels.eq(5).sum().item<int64_t>(), int64_t(140));  // background = num_classes
    QCOMPARE(t[1].cate_labels[26].item<int64_t>(), int64_t(3));
    // The mask at stride 4: output pixel d samples input 4d + 1.5 (between 4d+1 and 4d+2), a half
    // rounds up: rows 7..17 (29|30 .. 69|70), cols 5..14 (21|22 .. 57|58).
    torch::Tensor want = torch::zeros({32, 32}, torch::kUInt8);
    want.slice(0, 7, 18).slice(1, 5, 15).fill_(1);
    QCOMPARE(t[0].masks.sizes().vec(), (std::vector<int64_t>{4, 32, 32}));
    for (int k = 0; k < 4; ++k) QVERIFY(torch::equal(t[0].masks[k], want));
    QVERIFY(torch::equal(t[1].masks[1], want));

    // No instances: background everywhere, no positives.
    InstanceTargets none;
    none.labels = torch::zeros({0}, torch::kLong);
    none.boxes = torch::zeros({0, 4});
    none.masks = torch::zeros({0, 128, 128}, torch::kUInt8);
    std::vector<SOLOv2LevelTargets> e = solov2_targets(none, o, {32, 32});
    for (const auto& l : e) {
      QCOMPARE(l.grid_order.numel(), int64_t(0));
      QVERIFY(l.cate_labels.eq(5).all().item<bool>());
    }
  }

  void dice_and_focal_by_hand() {
    // p = [0.5, 1, 0, 0.5], t = [1, 1, 0, 0]: 1 - 2 * 1.5 / (1.5 + 0.001 + 2 + 0.001) = 0.14334666
    torch::Tensor d = solov2_dice_loss(torch::tensor({0.5f, 1.f, 0.f, 0.5f}).view({1, 2, 2}),
                                       torch::tensor({1, 1, 0, 0}, torch::kUInt8).view({1, 2, 2}));
    QVERIFY(std::abs(d.item<double>() - 0.14334666) < 1e-6);
    // logits [0, 2], label 1 of 2 classes: class 0 negative 0.75 * 0.5^2 * ln 2,
    // class 1 positive 0.25 * (1 - s(2))^2 * -ln s(2); sum 0.13041599.
    torch::Tensor f = solov2_focal_loss_sum(torch::tensor({0.f, 2.f}).view({1, 2}), torch::tensor({1}, torch::kLong),
                                            0.25, 2.0);
    QVERIFY(std::abs(f.item<double>() - 0.13041599) < 1e-6);
    // Background (label = C) has no positive column.
    torch::Tensor fb = solov2_focal_loss_sum(torch::tensor({0.f, 0.f}).view({1, 2}), torch::tensor({2}, torch::kLong),
                                             0.25, 2.0);
    QVERIFY(std::abs(fb.item<double>() - 2 * 0.75 * 0.25 * std::log(2.0)) < 1e-6);
  }

  void loss_terms_by_hand() {
    // One image, one level with a 1 x 1 grid, E = 1, C = 1; mask features [[1, -1], [0, 2]],
    // kernel 1, category logit 0, the cell positive with target mask [[1, 0], [0, 1]].
    SOLOv2HeadOutput head;
    head.kernel_preds = {torch::ones({1, 1, 1, 1})};
    head.cate_preds = {torch::zeros({1, 1, 1, 1})};
    torch::Tensor feats = torch::tensor({1.f, -1.f, 0.f, 2.f}).view({1, 1, 2, 2});
    SOLOv2LevelTargets t;
    t.cate_labels = torch::tensor({0}, torch::kLong);
    t.positive = torch::tensor({true});
    t.grid_order = torch::tensor({0}, torch::kLong);
    t.masks = torch::tensor({1, 0, 0, 1}, torch::kUInt8).view({1, 2, 2});
    LossTerms l = solov2_loss(head, feats, {{t}}, SOLOv2LossOptions{});
    QCOMPARE(l.size(), size_t(2));
    QCOMPARE(l[0].first, std::string("loss_ins"));
    QCOMPARE(l[1].first, std::string("loss_cate"));
    const double p[4] = {sigmoid(1), sigmoid(-1), sigmoid(0), sigmoid(2)};
    const double a = p[0] + p[3], b = p[0] * p[0] + p[1] * p[1] + p[2] * p[2] + p[3] * p[3] + 0.001, c = 2 + 0.001;
    QVERIFY(std::abs(l[0].second.item<double>() - 3.0 * (1 - 2 * a / (b + c))) < 1e-5);
    // Focal of one positive at logit 0: 0.25 * 0.5^2 * ln 2, over (1 positive + 1).
    QVERIFY(std::abs(l[1].second.item<double>() - 0.25 * 0.25 * std::log(2.0) / 2) < 1e-6);

    // No positives: loss_ins is a zero that still has a graph.
    torch::Tensor k = torch::ones({1, 1, 1, 1}, torch::requires_grad());
    head.kernel_preds = {k};
    t.cate_labels = torch::tensor({1}, torch::kLong);
    t.positive = torch::tensor({false});
    t.grid_order = torch::zeros({0}, torch::kLong);
    t.masks = torch::zeros({0, 2, 2}, torch::kUInt8);
    LossTerms z = solov2_loss(head, feats, {{t}}, SOLOv2LossOptions{});
    QCOMPARE(z[0].second.item<double>(), 0.0);
    QVERIFY(z[0].second.requires_grad());
    QVERIFY(std::abs(z[1].second.item<double>() - 0.75 * 0.25 * std::log(2.0)) < 1e-6);
  }

  void points_nms_keeps_local_maxima() {
    // Each cell's window is itself and the cells above/left: [[.1, .5], [.3, .2]] -> .2 dropped.
    torch::Tensor h = torch::tensor({0.1f, 0.5f, 0.3f, 0.2f}).view({1, 1, 2, 2});
    QVERIFY(torch::equal(solov2_points_nms(h), torch::tensor({0.1f, 0.5f, 0.3f, 0.f}).view({1, 1, 2, 2})));
  }

  void predict_single_on_hand_built_outputs() {
    // Mask features 8 x 8, E = 2: channel 0 is +10 on rows 0..3 cols 0..3, channel 1 on rows 4..7
    // cols 2..7, -10 elsewhere. Level 0 (S 2): cell (0,0) class 0 at 0.9 with kernel (1,0), cell
    // (1,1) class 1 at 0.6 with kernel (0,1). Level 1 (S 1): class 0 at 0.3 with kernel (1,0), the
    // same mask as the first: Matrix NMS decays it to 0.3 exp(-2) < update_thr.
    torch::Tensor mf = torch::full({2, 8, 8}, -10.f);
    mf[0].slice(0, 0, 4).slice(1, 0, 4).fill_(10.f);
    mf[1].slice(0, 4, 8).slice(1, 2, 8).fill_(10.f);
    torch::Tensor c0 = torch::zeros({2, 2, 2}), k0 = torch::zeros({2, 2, 2});
    c0[0][0][0] = 0.9f;
    c0[1][1][1] = 0.6f;
    k0[0][0][0] = 1.f;
    k0[1][1][1] = 1.f;
    torch::Tensor c1 = torch::zeros({2, 1, 1}), k1 = torch::zeros({2, 1, 1});
    c1[0][0][0] = 0.3f;
    k1[0][0][0] = 1.f;
    SOLOv2TestOptions o;
    // Padded input 32 x 32, image 28 x 32 inside it, file 56 x 64.
    Instances r = solov2_predict_single({c0, c1}, {k0, k1}, mf, {8, 8}, {28, 32}, {56, 64}, o);
    QCOMPARE(r.size(), int64_t(2));
    const double maskness = sigmoid(10.0);
    QVERIFY(std::abs(r.scores[0].item<double>() - 0.9 * maskness) < 1e-5);
    QVERIFY(std::abs(r.scores[1].item<double>() - 0.6 * maskness) < 1e-5);
    QVERIFY(torch::equal(r.labels, torch::tensor({0, 1}, torch::kLong)));
    QCOMPARE(r.masks.sizes().vec(), (std::vector<int64_t>{2, 56, 64}));
    QCOMPARE(r.masks.scalar_type(), torch::kBool);
    // Mask 0: feature rows/cols 0..3 -> padded 0..15 -> file 0..31; mask 1: feature rows 4..7,
    // cols 2..7 -> padded rows 16..31 (cropped to 27), cols 8..31 -> file rows 32..55, cols 16..63.
    QVERIFY(torch::equal(r.boxes, torch::tensor({0.f, 0.f, 32.f, 32.f, 16.f, 32.f, 64.f, 56.f}).view({2, 4})));
    // Inside the boxes everything but the rounded corners (bilinear twice) is set, outside nothing.
    QVERIFY(r.masks[0].slice(0, 0, 29).slice(1, 0, 29).all().item<bool>());
    QVERIFY(r.masks[1].slice(0, 35, 56).slice(1, 19, 64).all().item<bool>());
    QVERIFY(r.masks[0].sum().item<int64_t>() > 1000 && r.masks[0].sum().item<int64_t>() <= 32 * 32);
    QVERIFY(r.masks[1].sum().item<int64_t>() > 1130 && r.masks[1].sum().item<int64_t>() <= 24 * 48);

    // The area filter keeps masks larger than their level's stride (in mask-feature pixels): with
    // strides 20 the 16-pixel masks go, the 24-pixel one stays.
    Instances s = solov2_predict_single({c0, c1}, {k0, k1}, mf, {20, 20}, {28, 32}, {56, 64}, o);
    QCOMPARE(s.size(), int64_t(1));
    QCOMPARE(s.labels[0].item<int64_t>(), int64_t(1));

    // Nothing above score_thr: empty tensors of the right shapes.
    o.score_thr = 0.95;
    Instances e = solov2_predict_single({c0, c1}, {k0, k1}, mf, {8, 8}, {28, 32}, {56, 64}, o);
    QCOMPARE(e.size(), int64_t(0));
    QCOMPARE(e.masks.sizes().vec(), (std::vector<int64_t>{0, 56, 64}));
    QCOMPARE(e.boxes.sizes().vec(), (std::vector<int64_t>{0, 4}));
  }

  void factory_builds_the_shapes_recipe() {
    Config cfg = Config::load(std::string(STUDIO_TEST_DATA_DIR) + "/../../configs/solov2_r18_fpn_shapes_cpu.yaml");
    DetectorPtr model = build_model(cfg.at("model"));
    QCOMPARE(model->num_classes(), 5);
    std::map<std::string, std::vector<int64_t>> params;
    for (const auto& p : model->named_parameters()) params[p.key()] = p.value().sizes().vec();
    QCOMPARE(params["head.kernel_convs.0.conv.weight"], (std::vector<int64_t>{64, 66, 3, 3}));
    QCOMPARE(params["head.kernel_convs.3.conv.weight"], (std::vector<int64_t>{64, 64, 3, 3}));
    QCOMPARE(params["head.cate_convs.3.conv.weight"], (std::vector<int64_t>{64, 64, 3, 3}));
    QVERIFY(!params.count("head.kernel_convs.4.conv.weight"));
    QCOMPARE(params["head.solo_cate.weight"], (std::vector<int64_t>{5, 64, 3, 3}));
    QCOMPARE(params["head.solo_kernel.weight"], (std::vector<int64_t>{64, 64, 3, 3}));
    QCOMPARE(params["mask_feat_head.convs_all_levels.3.conv0.conv.weight"], (std::vector<int64_t>{64, 66, 3, 3}));
    QCOMPARE(params["mask_feat_head.conv_pred.0.conv.weight"], (std::vector<int64_t>{64, 64, 1, 1}));
    QVERIFY(params.count("backbone.conv1.weight"));
    QVERIFY(params.count("neck.lateral_convs.0.conv.weight"));
    // The factory lists every model it builds, this one among them.
    const std::vector<std::string> types = model_types();
    QVERIFY(std::find(types.begin(), types.end(), "solov2") != types.end());
    QVERIFY(std::find(types.begin(), types.end(), "mask_rcnn") != types.end());
    // Three head levels at 128 pixels (the shapes never reach P5's range): grids 24, 20, 16 on
    // strides 8, 8, 16; the mask features from P2..P5 at stride 4.
    auto solo = std::dynamic_pointer_cast<SOLOv2>(model);
    QVERIFY(solo);
    solo->eval();
    {
      torch::NoGradGuard no_grad;
      SOLOv2::Outputs out = solo->forward(torch::zeros({1, 3, 128, 128}));
      QCOMPARE(out.head.cate_preds.size(), size_t(3));
      QCOMPARE(out.head.cate_preds[0].sizes().vec(), (std::vector<int64_t>{1, 5, 24, 24}));
      QCOMPARE(out.head.kernel_preds[2].sizes().vec(), (std::vector<int64_t>{1, 64, 16, 16}));
      QCOMPARE(out.mask_features.sizes().vec(), (std::vector<int64_t>{1, 64, 32, 32}));
    }
    Config few = Config::parse("model:\n  type: solov2\n  num_classes: 3\n  neck:\n    num_outs: 4\n", "few.yaml");
    STUDIO_EXPECT_ERROR((void)build_model(few.at("model")), "model.neck.num_outs (4)", "num_grids (5)");

    Config bad = Config::parse("model:\n  type: solov2\n  num_classes: 3\n  head:\n    stacked_conv: 2\n", "bad.yaml");
    STUDIO_EXPECT_ERROR((void)build_model(bad.at("model")), "bad.yaml", "stacked_conv", "stacked_convs");
    // SOLOv2's builder allows its own sections only: a two-stage model's rpn is not one of them.
    Config rpn = Config::parse("model:\n  type: solov2\n  num_classes: 3\n  rpn:\n    nms_thr: 0.7\n", "rpn.yaml");
    STUDIO_EXPECT_ERROR((void)build_model(rpn.at("model")), "rpn.yaml:4", "model.rpn", "unknown key", "head");
    Config other = Config::parse("model:\n  type: yolo\n  num_classes: 3\n", "other.yaml");
    STUDIO_EXPECT_ERROR((void)build_model(other.at("model")), "other.yaml", "yolo", "solov2");
    Config groups = Config::parse(
        "model:\n  type: solov2\n  num_classes: 3\n  head:\n    feat_channels: 48\n    norm_groups: 32\n", "g.yaml");
    STUDIO_EXPECT_ERROR((void)build_model(groups.at("model")), "g.yaml", "norm_groups");
  }

  void learns_synthetic_rectangles() {
    // A tiny SOLOv2 on 4 images of 64 x 64 with one or two filled rectangles (class = colour).
    torch::manual_seed(0);
    const int num_classes = 2;
    auto model = std::make_shared<SOLOv2>(tiny_model(num_classes));
    model->train();
    const int64_t n = 4, size = 64;
    ImageBatch batch;
    batch.images = torch::randn({n, 3, size, size}) * 0.2;
    std::vector<InstanceTargets> targets;
    const int rects[4][2][5] = {  // x1, y1, x2, y2, label (label -1: none)
        {{5, 6, 25, 30, 0}, {35, 32, 59, 55, 1}},
        {{15, 10, 45, 35, 1}, {0, 0, 0, 0, -1}},
        {{30, 4, 50, 20, 0}, {4, 40, 28, 60, 0}},
        {{10, 20, 55, 50, 1}, {0, 0, 0, 0, -1}}};
    for (int i = 0; i < n; ++i) {
      std::vector<int64_t> labels;
      std::vector<float> boxes;
      std::vector<torch::Tensor> masks;
      for (const auto& r : rects[i]) {
        if (r[4] < 0) continue;
        labels.push_back(r[4]);
        boxes.insert(boxes.end(), {float(r[0]), float(r[1]), float(r[2]), float(r[3])});
        torch::Tensor m = torch::zeros({size, size}, torch::kUInt8);
        m.slice(0, r[1], r[3]).slice(1, r[0], r[2]).fill_(1);
        masks.push_back(m);
        // Colour per class: red-ish or blue-ish.
        torch::Tensor colour = r[4] == 0 ? torch::tensor({1.5f, -1.f, -1.f}) : torch::tensor({-1.f, -1.f, 1.5f});
        batch.images[i].slice(1, r[1], r[3]).slice(2, r[0], r[2]) += colour.view({3, 1, 1});
      }
      InstanceTargets t;
      t.labels = torch::tensor(labels, torch::kLong);
      t.boxes = torch::tensor(boxes).view({-1, 4});
      t.masks = torch::stack(masks);
      targets.push_back(t);
      batch.image_sizes.push_back({int(size), int(size)});
      batch.original_sizes.push_back({int(size), int(size)});
      batch.image_ids.push_back(i);
      batch.flipped.push_back(false);
    }
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(1e-4));
    const int steps = 30;
    std::vector<double> totals;
    const auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) {
      LossTerms l = model->losses(batch, targets);
      torch::Tensor total = l[0].second + l[1].second;
      sgd.zero_grad();
      total.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 35.0);
      sgd.step();
      totals.push_back(total.item<double>());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double first = 0, last = 0;
    for (int i = 0; i < 5; ++i) {
      first += totals[i] / 5;
      last += totals[steps - 1 - i] / 5;
    }
    qInfo("SOLOv2 tiny: loss %.4f -> %.4f over %d steps (%.1f s)", first, last, steps, secs);
    QVERIFY2(std::isfinite(last) && last < 0.7 * first, qPrintable(QString("%1 -> %2").arg(first).arg(last)));

    // Inference through the whole model: one Instances per image, at the original size, sorted.
    model->eval();
    torch::NoGradGuard no_grad;
    batch.original_sizes[1] = {64, 80};
    std::vector<Instances> r = model->predict(batch);
    QCOMPARE(r.size(), size_t(n));
    int64_t found = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto& inst = r[i];
      QCOMPARE(inst.masks.size(1), int64_t(batch.original_sizes[i][0]));
      QCOMPARE(inst.masks.size(2), int64_t(batch.original_sizes[i][1]));
      QCOMPARE(inst.boxes.size(0), inst.size());
      QCOMPARE(inst.labels.size(0), inst.size());
      if (inst.size() > 1) QVERIFY(inst.scores.slice(0, 1).le(inst.scores.slice(0, 0, -1)).all().item<bool>());
      found += inst.size();
    }
    qInfo("predictions after training: %lld", static_cast<long long>(found));
  }
};

QTEST_APPLESS_MAIN(TestSolov2)
#include "test_solov2.moc"
