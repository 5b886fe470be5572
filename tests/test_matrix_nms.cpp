// Matrix NMS against a plain double-loop float64 reference, and a 3-mask case computed by hand.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "modeling/ops/matrix_nms/matrix_nms.h"
#include "test_support.h"

using namespace studio;

namespace {

// The definition, one pair at a time in double: for each j, the minimum over i < j of the same
// label of f(iou_ij) / f(compensate_i), compensate_i = max over k < i of the same label of iou_ki.
std::vector<double> reference(const torch::Tensor& masks, const torch::Tensor& labels, const torch::Tensor& scores,
                              bool gaussian, double sigma) {
  const int64_t n = labels.size(0);
  torch::Tensor m = masks.reshape({n, -1}).to(torch::kDouble).contiguous();
  auto acc = m.accessor<double, 2>();
  auto lab = labels.accessor<int64_t, 1>();
  const int64_t px = m.size(1);
  std::vector<std::vector<double>> iou(n, std::vector<double>(n, 0.0));
  std::vector<double> area(n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < px; ++p) area[i] += acc[i][p];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      double inter = 0;
      for (int64_t p = 0; p < px; ++p) inter += acc[i][p] * acc[j][p];
      iou[i][j] = lab[i] == lab[j] ? inter / (area[i] + area[j] - inter) : 0.0;
    }
  std::vector<double> out(n);
  auto f = [&](double x) { return gaussian ? std::exp(-sigma * x * x) : 1.0 - x; };
  for (int64_t j = 0; j < n; ++j) {
    double coef = 1.0;
    for (int64_t i = 0; i < j; ++i) {
      if (lab[i] != lab[j]) continue;
      double comp = 0;
      for (int64_t k = 0; k < i; ++k) comp = std::max(comp, iou[k][i]);
      double num = f(iou[i][j]), den = f(comp);
      double d = (num == 0 && den == 0) ? 1.0 : num / den;
      coef = std::min(coef, d);
    }
    out[j] = scores[j].item<double>() * coef;
  }
  return out;
}

}  // namespace

class TestMatrixNms : public QObject {
  Q_OBJECT

 private slots:
  void hand_computed_three_masks() {
    // 1 x 4 masks: m0 = 1110 (area 3), m1 = 1100 (2), m2 = 0011 (2); scores 0.9, 0.8, 0.7.
    // iou01 = 2/3, iou02 = 1/4, iou12 = 0; compensate: c0 = 0, c1 = 2/3, c2 = 1/4.
    torch::Tensor masks = torch::tensor({1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1, 1}, torch::kBool).view({3, 1, 4});
    torch::Tensor scores = torch::tensor({0.9f, 0.8f, 0.7f});
    torch::Tensor same = torch::tensor({0, 0, 0}, torch::kLong);
    // Gaussian, sigma 2: s1 = 0.8 exp(-2 (2/3)^2), s2 = 0.7 min(exp(-2/16), exp(+8/9)) = 0.7 exp(-1/8).
    torch::Tensor g = matrix_nms(masks, same, scores, {MatrixNmsKernel::gaussian, 2.0});
    QVERIFY(std::abs(g[0].item<float>() - 0.9f) < 1e-6);
    QVERIFY(std::abs(g[1].item<float>() - 0.32888983f) < 1e-6);
    QVERIFY(std::abs(g[2].item<float>() - 0.61774783f) < 1e-6);
    // Linear: s1 = 0.8 (1 - 2/3), s2 = 0.7 min(1 - 1/4, (1 - 0) / (1 - 2/3)) = 0.7 * 0.75.
    torch::Tensor l = matrix_nms(masks, same, scores, {MatrixNmsKernel::linear, 2.0});
    QVERIFY(std::abs(l[1].item<float>() - 0.8f / 3) < 1e-6);
    QVERIFY(std::abs(l[2].item<float>() - 0.525f) < 1e-6);
    // m1 of another class: nothing decays m1, m2 still decays by m0 only.
    torch::Tensor l2 = matrix_nms(masks, torch::tensor({0, 1, 0}, torch::kLong), scores, {MatrixNmsKernel::linear, 2.0});
    QVERIFY(std::abs(l2[1].item<float>() - 0.8f) < 1e-6);
    QVERIFY(std::abs(l2[2].item<float>() - 0.525f) < 1e-6);
    // Given areas are used instead of the sums (same result when they agree).
    torch::Tensor ga = matrix_nms(masks, same, scores, {MatrixNmsKernel::gaussian, 2.0}, torch::tensor({3.f, 2.f, 2.f}));
    QVERIFY(torch::allclose(ga, g));
  }

  void matches_double_loop_reference_data() {
    QTest::addColumn<int>("seed");
    QTest::addColumn<bool>("gaussian");
    for (int seed : {1, 2, 3, 4})
      for (bool gaussian : {true, false})
        QTest::newRow(qPrintable(QString("seed %1 %2").arg(seed).arg(gaussian ? "gaussian" : "linear")))
            << seed << gaussian;
  }
  void matches_double_loop_reference() {
    QFETCH(int, seed);
    QFETCH(bool, gaussian);
    torch::manual_seed(seed);
    const int64_t n = 12 + seed * 5;
    // Blobs: random rectangles so that many pairs overlap a lot, plus noise pixels.
    torch::Tensor masks = torch::zeros({n, 16, 20}, torch::kBool);
    for (int64_t i = 0; i < n; ++i) {
      int y0 = torch::randint(0, 10, {1}).item<int>(), x0 = torch::randint(0, 12, {1}).item<int>();
      int h = torch::randint(2, 7, {1}).item<int>(), w = torch::randint(2, 9, {1}).item<int>();
      masks[i].slice(0, y0, y0 + h).slice(1, x0, x0 + w).fill_(true);
    }
    masks |= torch::rand({n, 16, 20}) < 0.05;
    torch::Tensor labels = torch::randint(0, 3, {n}, torch::kLong);
    torch::Tensor scores = std::get<0>(torch::rand({n}).sort(0, /*descending=*/true));
    const double sigma = gaussian ? 2.0 : 0.0;
    torch::Tensor got = matrix_nms(masks, labels, scores,
                                   {gaussian ? MatrixNmsKernel::gaussian : MatrixNmsKernel::linear, sigma});
    std::vector<double> want = reference(masks, labels, scores, gaussian, sigma);
    QCOMPARE(got.size(0), n);
    int decayed = 0;
    for (int64_t j = 0; j < n; ++j) {
      QVERIFY2(std::abs(got[j].item<double>() - want[j]) < 1e-5,
               qPrintable(QString("j %1: %2 vs %3").arg(j).arg(got[j].item<double>()).arg(want[j])));
      decayed += want[j] < scores[j].item<double>() - 1e-6;
    }
    QVERIFY(decayed > 0);  // the case exercises suppression, not just pass-through
  }

  void empty_and_bad_kernel_name() {
    torch::Tensor got = matrix_nms(torch::zeros({0, 4, 4}), torch::zeros({0}, torch::kLong), torch::zeros({0}));
    QCOMPARE(got.size(0), 0);
    QVERIFY(matrix_nms_kernel_from_name("linear") == MatrixNmsKernel::linear);
    STUDIO_EXPECT_ERROR((void)matrix_nms_kernel_from_name("box"), "unknown kernel 'box'", "gaussian or linear");
  }
};

QTEST_APPLESS_MAIN(TestMatrixNms)
#include "test_matrix_nms.moc"
