// The typed containers' helpers every model uses (modeling/structures.h): tight boxes of masks,
// checked on masks drawn by hand, and the empty prediction of an image.
#include <torch/torch.h>

#include <QtTest>

#include "modeling/structures.h"

using namespace studio;

class TestStructures : public QObject {
  Q_OBJECT

 private slots:
  void masks_to_boxes_by_hand() {
    torch::Tensor m = torch::zeros({3, 5, 6}, torch::kUInt8);
    m[0].slice(0, 1, 3).slice(1, 2, 5).fill_(1);  // rows 1-2, columns 2-4 -> (2, 1, 5, 3)
    m[1][4][0] = 1;                                // one pixel at row 4, column 0 -> (0, 4, 1, 5)
    m[1][0][5] = 1;                                // and one at row 0, column 5: spans the image
    // m[2] stays empty -> zeros
    const torch::Tensor b = masks_to_boxes(m);
    QCOMPARE(b.scalar_type(), torch::kFloat);
    const torch::Tensor want = torch::tensor({2.f, 1.f, 5.f, 3.f, 0.f, 0.f, 6.f, 5.f, 0.f, 0.f, 0.f, 0.f}).view({3, 4});
    QVERIFY2(torch::equal(b, want), qPrintable(QString::fromStdString((std::ostringstream() << b).str())));
    QCOMPARE(masks_to_boxes(torch::zeros({0, 4, 4}, torch::kBool)).sizes(), (torch::IntArrayRef{0, 4}));
  }

  void empty_instances_have_zero_rows() {
    const Instances with = empty_instances({7, 9}, true);
    QCOMPARE(with.size(), std::int64_t(0));
    QCOMPARE(with.masks.sizes(), (torch::IntArrayRef{0, 7, 9}));
    QCOMPARE(with.masks.scalar_type(), torch::kBool);
    QCOMPARE(with.boxes.sizes(), (torch::IntArrayRef{0, 4}));
    QCOMPARE(with.labels.scalar_type(), torch::kLong);
    const Instances boxes_only = empty_instances({7, 9}, false);
    QVERIFY(!boxes_only.masks.defined());
    QCOMPARE(boxes_only.scores.sizes(), (torch::IntArrayRef{0}));
  }
};

QTEST_APPLESS_MAIN(TestStructures)
#include "test_structures.moc"
