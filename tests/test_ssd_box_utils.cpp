// SSD's box arithmetic (modeling/ops/ssd_box_utils): hand-computed cases, and parity with
// qfgaohao's pytorch-ssd through tests/data/qfgaohao/ssd_box_utils.pt, which
// tests/qfgaohao/make_ssd_box_fixtures.py wrote by running the reference (the script says how to
// get it). The fixture holds the reference's outputs only: the inputs are formulas of arange
// (wave() below and in the script) that this LibTorch computes as the Python torch does.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <cmath>
#include <map>
#include <string>

#include "modeling/ops/ssd_box_utils/ssd_box_utils.h"
#include "common/error.h"
#include "modeling/weights/pth_file.h"
#include "detection_ops_support.h"
#include "qfgaohao_support.h"
#include "test_support.h"

using namespace studio;

namespace {

using test::wave;

torch::Tensor gt_boxes() {
  return torch::tensor({0.10f, 0.12f, 0.52f, 0.60f, 0.40f, 0.45f, 0.48f, 0.52f, 0.05f, 0.70f, 0.95f, 0.78f, 0.45f,
                        0.10f, 0.98f, 0.55f, 0.00f, 0.00f, 0.30f, 0.25f})
      .view({5, 4});
}

}  // namespace

class TestSsdBoxUtils : public QObject {
  Q_OBJECT

  test::QfFixture fx;

  static bool close(const char* what, const torch::Tensor& got, const torch::Tensor& want, double atol) {
    return test::close_to_reference(what, got, want, atol);
  }
  static bool same(const char* what, const torch::Tensor& got, const torch::Tensor& want) {
    return test::same_as_reference(what, got, want);
  }

 private slots:
  void initTestCase() {
    fx.load("ssd_box_utils.pt");
    QVERIFY(fx.size() >= 10);
  }

  // ---------------------------------------------------------------- hand-computed
  void priors_hand_computed() {
    // One 2x2 map of shrinkage 150 on a 300 image, sizes 60/240, ratio 4 (sqrt 2 exactly = 2):
    // cell (row 0, column 1) has centre (0.75, 0.25); sizes 0.2, sqrt(60*240)/300 = 0.4, then
    // (0.4, 0.1) and (0.1, 0.4).
    const torch::Tensor p = ssd_priors({{2, 150, 60, 240, {4}}}, 300);
    QCOMPARE(p.size(0), 2 * 2 * 4);
    const torch::Tensor row = p.slice(0, 4, 8);
    const torch::Tensor want = torch::tensor({0.75f, 0.25f, 0.2f, 0.2f, 0.75f, 0.25f, 0.4f, 0.4f, 0.75f, 0.25f, 0.4f,
                                              0.1f, 0.75f, 0.25f, 0.1f, 0.4f})
                                   .view({4, 4});
    QVERIFY(torch::allclose(row, want, 0, 1e-7));
    // Clamping: a prior bigger than the image gets w = h = 1.
    const torch::Tensor big = ssd_priors({{1, 300, 285, 330, {2}}}, 300);
    QCOMPARE(big[1][2].item<float>(), 1.f);
    QVERIFY(ssd_priors({{1, 300, 285, 330, {2}}}, 300, false)[1][2].item<float>() > 1.f);
    QCOMPARE(ssd_priors(mobilenet_ssd_prior_specs(), 300).size(0), 3000);
    STUDIO_EXPECT_ERROR((void)ssd_priors({{0, 16, 60, 105, {2}}}, 300), "ssd_priors", "positive");
  }

  void coder_and_forms_hand_computed() {
    // Prior (0.5, 0.5, 0.2, 0.4); box centre (0.52, 0.46), size (0.4, 0.4):
    // (0.02 / 0.2 / 0.1, -0.04 / 0.4 / 0.1, log 2 / 0.2, log 1 / 0.2) = (1, -1, 3.4657, 0).
    const torch::Tensor prior = torch::tensor({0.5, 0.5, 0.2, 0.4}, torch::kDouble).view({1, 4});
    const torch::Tensor box = torch::tensor({0.52, 0.46, 0.4, 0.4}, torch::kDouble).view({1, 4});
    const torch::Tensor loc = ssd_encode(box, prior, 0.1, 0.2);
    QVERIFY(torch::allclose(loc, torch::tensor({1.0, -1.0, std::log(2.0) / 0.2, 0.0}, torch::kDouble).view({1, 4})));
    QVERIFY(torch::allclose(ssd_decode(loc, prior, 0.1, 0.2), box));
    // Batched locations [B, P, 4] against priors [P, 4].
    QCOMPARE(ssd_decode(loc.unsqueeze(0).expand({3, 1, 4}), prior, 0.1, 0.2).sizes(), (torch::IntArrayRef{3, 1, 4}));
    const torch::Tensor corner = center_to_corner(box);
    QVERIFY(torch::allclose(corner, torch::tensor({0.32, 0.26, 0.72, 0.66}, torch::kDouble).view({1, 4})));
    QVERIFY(torch::allclose(corner_to_center(corner), box));
  }

  void iou_and_assignment_hand_computed() {
    // [0,0,2,2] against [1,1,3,3]: 1 / (4 + 4 - 1 + 1e-5); a degenerate box gives 0, not NaN.
    const torch::Tensor a = torch::tensor({0.0, 0.0, 2.0, 2.0}, torch::kDouble);
    const torch::Tensor b = torch::tensor({1.0, 1.0, 3.0, 3.0}, torch::kDouble);
    QCOMPARE(ssd_iou(a, b).item<double>(), 1.0 / (7.0 + 1e-5));
    QCOMPARE(ssd_iou(torch::zeros({4}, torch::kDouble), torch::zeros({4}, torch::kDouble)).item<double>(), 0.0);
    // Three priors, two boxes: box 0 overlaps prior 0 well (IoU 0.81 > 0.5) and prior 1 a bit;
    // box 1 overlaps only prior 2 weakly (IoU 0.14 < 0.5) but claims it as its best prior.
    const torch::Tensor priors = torch::tensor({0.0, 0.0, 1.0, 1.0, 0.5, 0.0, 1.5, 1.0, 3.0, 3.0, 4.0, 4.0},
                                               torch::kDouble)
                                     .view({3, 4});
    const torch::Tensor gt = torch::tensor({0.0, 0.0, 0.9, 0.9, 3.5, 3.5, 4.5, 4.5}, torch::kDouble).view({2, 4});
    const auto [boxes, labels] = ssd_assign_priors(gt, torch::tensor({4, 9}, torch::kLong), priors, 0.5);
    QCOMPARE(test::to_ints(labels), (std::vector<int64_t>{4, 0, 9}));
    QVERIFY(torch::equal(boxes[2], gt[1]));
    QVERIFY(torch::equal(boxes[0], gt[0]));
    STUDIO_EXPECT_ERROR((void)ssd_assign_priors(torch::zeros({0, 4}), torch::zeros({0}, torch::kLong), priors, 0.5),
                        "ssd_assign_priors", "G >= 1");
  }

  void mining_and_loss_hand_computed() {
    // One image, 6 priors, 1 positive (prior 2): keeps it and the 3 negatives of highest loss.
    const torch::Tensor labels = torch::tensor({0, 0, 2, 0, 0, 0}, torch::kLong).view({1, 6});
    const torch::Tensor bg = torch::tensor({0.5f, 3.f, 9.f, 1.f, 2.f, 0.1f}).view({1, 6});
    QCOMPARE(test::to_ints(hard_negative_mining(bg, labels, 3).view(-1)),
             (std::vector<int64_t>{0, 1, 1, 1, 1, 0}));
    QCOMPARE(bg[0][2].item<float>(), 9.f);  // the caller's loss is left as it was
    // An image without positives keeps nothing.
    QCOMPARE(hard_negative_mining(bg, torch::zeros({1, 6}, torch::kLong), 3).sum().item<int64_t>(), 0);
    // The loss: 3 classes, logits 0 everywhere -> CE log 3 per kept prior (4 kept), regression
    // |d| = 0.5 on the positive's 4 coordinates -> smooth L1 0.125 each; both / 1 positive.
    const torch::Tensor conf = torch::zeros({1, 6, 3});
    const torch::Tensor loc = torch::full({1, 6, 4}, 0.5f), gt = torch::zeros({1, 6, 4});
    const MultiBoxLoss loss = multibox_loss(conf, loc, labels, gt, 3);
    QCOMPARE(loss.num_pos, 1);
    // (All background losses tie: the sort picks which 3 negatives, still 4 rows.)
    QVERIFY(std::abs(loss.classification.item<float>() - 4 * std::log(3.f)) < 1e-5);
    QVERIFY(std::abs(loss.regression.item<float>() - 0.5f) < 1e-6);
    STUDIO_EXPECT_ERROR((void)multibox_loss(conf, loc, labels.view({6}), gt, 3), "multibox_loss", "[N, P]");
  }

  void hard_nms_hand_computed() {
    // Boxes 0 and 1 overlap with IoU 0.6 (suppressed at 0.45, kept at 0.7); box 2 is apart.
    const torch::Tensor boxes = torch::tensor({0.f, 0.f, 10.f, 10.f, 0.f, 2.5f, 10.f, 12.5f, 20.f, 20.f, 30.f, 30.f})
                                    .view({3, 4});
    const torch::Tensor scores = torch::tensor({0.9f, 0.95f, 0.1f});
    QCOMPARE(test::to_ints(ssd_hard_nms(boxes, scores, 0.45)), (std::vector<int64_t>{1, 2}));
    QCOMPARE(test::to_ints(ssd_hard_nms(boxes, scores, 0.7)), (std::vector<int64_t>{1, 0, 2}));
    QCOMPARE(test::to_ints(ssd_hard_nms(boxes, scores, 0.7, 2)), (std::vector<int64_t>{1, 0}));
    // candidate_size: only the best 2 scores are looked at.
    QCOMPARE(test::to_ints(ssd_hard_nms(boxes, scores, 0.7, -1, 2)), (std::vector<int64_t>{1, 0}));
    QCOMPARE(ssd_hard_nms(torch::zeros({0, 4}), torch::zeros({0}), 0.45).numel(), 0);
  }

  // ---------------------------------------------------------------- the reference
  void priors_match_reference() {
    const torch::Tensor priors = ssd_priors(mobilenet_ssd_prior_specs(), 300);
    QVERIFY(close("priors", priors, fx("priors"), 1e-6));
    QVERIFY(close("priors_unclamped", ssd_priors(mobilenet_ssd_prior_specs(), 300, false), fx("priors_unclamped"), 1e-6));
  }

  void coder_matches_reference() {
    const torch::Tensor priors = fx("priors");
    const torch::Tensor loc =
        torch::stack({wave(3000, 0.37), wave(3000, 0.11, 0.8), wave(3000, 0.23, 0.5), wave(3000, 0.05, 0.7)}, 1);
    const torch::Tensor decoded = ssd_decode(loc, priors, 0.1, 0.2);
    QVERIFY(close("decode", decoded, fx("decode"), 1e-6));
    QVERIFY(close("encode", ssd_encode(fx("decode"), priors, 0.1, 0.2), fx("encode"), 1e-5));
  }

  void matching_matches_reference() {
    const torch::Tensor priors = fx("priors");
    const auto [locations, labels] = ssd_match(gt_boxes(), torch::tensor({3, 1, 7, 3, 20}, torch::kLong), priors, 0.5, 0.1, 0.2);
    QVERIFY(same("match/labels", labels, fx("match/labels")));
    QVERIFY((labels > 0).sum().item<int64_t>() >= 5);
    QVERIFY(close("match/locations", locations, fx("match/locations"), 1e-5));
    const torch::Tensor boxes2 = torch::tensor({0.30f, 0.30f, 0.50f, 0.50f, 0.31f, 0.30f, 0.50f, 0.51f}).view({2, 4});
    const auto [locations2, labels2] = ssd_match(boxes2, torch::tensor({2, 5}, torch::kLong), priors, 0.5, 0.1, 0.2);
    QVERIFY(same("match2/labels", labels2, fx("match2/labels")));
    QVERIFY(close("match2/locations", locations2, fx("match2/locations"), 1e-5));
  }

  void multibox_loss_matches_reference() {
    const torch::Tensor labels = torch::stack({fx("match/labels"), fx("match2/labels")});
    const torch::Tensor gt = torch::stack({fx("match/locations"), fx("match2/locations")});
    const torch::Tensor confidence = wave(2 * 3000 * 21, 0.013, 3.0).view({2, 3000, 21}).requires_grad_(true);
    const torch::Tensor predicted = wave(2 * 3000 * 4, 0.029, 1.5).view({2, 3000, 4}).requires_grad_(true);
    const torch::Tensor background = -torch::log_softmax(confidence.detach(), 2).select(2, 0);
    QVERIFY(same("loss/mask", hard_negative_mining(background, labels, 3), fx("loss/mask")));
    const MultiBoxLoss loss = multibox_loss(confidence, predicted, labels, gt, 3);
    QVERIFY(close("loss/regression", loss.regression.reshape({1}), fx("loss/regression"), 1e-5));
    QVERIFY(close("loss/classification", loss.classification.reshape({1}), fx("loss/classification"), 1e-5));
    QCOMPARE(loss.num_pos, (labels > 0).sum().item<int64_t>());
    (loss.regression + loss.classification).backward();
    QVERIFY(confidence.grad().abs().sum().item<float>() > 0);
    QVERIFY(predicted.grad().abs().sum().item<float>() > 0);
  }

  void hard_nms_matches_reference() {
    const torch::Tensor cx = wave(300, 0.7, 0.3, 0.5), cy = wave(300, 1.3, 0.3, 0.5);
    const torch::Tensor w = wave(300, 0.9, 0.08, 0.15), h = wave(300, 0.4, 0.08, 0.15);
    const torch::Tensor boxes = torch::stack({cx - w, cy - h, cx + w, cy + h}, 1);
    const torch::Tensor scores = wave(300, 2.1, 0.5, 0.5);
    const auto rows = [&](const torch::Tensor& kept) {
      return torch::cat({boxes.index({kept}), scores.index({kept}).unsqueeze(1)}, 1);
    };
    const torch::Tensor kept = ssd_hard_nms(boxes, scores, 0.45, -1, 200);
    QVERIFY(kept.size(0) > 10);
    QVERIFY(close("nms/kept", rows(kept), fx("nms/kept"), 0));
    QVERIFY(close("nms/kept_top5", rows(ssd_hard_nms(boxes, scores, 0.45, 5, 200)), fx("nms/kept_top5"), 0));
  }
};

QTEST_APPLESS_MAIN(TestSsdBoxUtils)
#include "test_ssd_box_utils.moc"
