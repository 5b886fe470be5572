// The evaluator against an independent reference on a realistic random case: tests/data/coco_reference
// holds 32 images with 161 objects (polygons; 6 crowd regions as uncompressed RLE; small, medium
// and large), 839 detections (noisy copies, duplicates, wrong classes, background false positives,
// tied scores; segm as compressed RLE) and pycocotools' own numbers for them (expected.json,
// written by make_reference.py there with pycocotools built from cocodataset/cocoapi).
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

#include "data/coco_io.h"
#include "eval/coco_eval.h"
#include "eval/coco_results.h"
#include "test_support.h"

using namespace studio;

namespace {

const std::string kDir = std::string(STUDIO_TEST_DATA_DIR) + "/coco_reference";

struct Expected {
  std::vector<double> stats;
  std::vector<std::pair<std::int64_t, double>> per_category;  // (category id, AP at IoU .50:.95)
};

Expected expected_for(const char* iou_type, std::int64_t* crowd = nullptr) {
  QFile f(QString::fromStdString(kDir + "/expected.json"));
  if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s/expected.json", kDir.c_str());
  const QJsonObject doc = QJsonDocument::fromJson(f.readAll()).object();
  if (crowd) *crowd = doc["crowd_annotations"].toInteger();
  const QJsonObject type = doc[iou_type].toObject();
  Expected e;
  for (const auto v : type["stats"].toArray()) e.stats.push_back(v.toDouble());
  for (const auto c : type["per_category"].toArray())
    e.per_category.emplace_back(c.toObject()["category_id"].toInteger(), c.toObject()["ap"].toDouble());
  return e;
}

// pycocotools' per-category AP: the mean of precision[:, :, k, area all, maxDets 100] over the defined entries.
double category_ap(const CocoEvalResult& r, std::size_t k) {
  double sum = 0;
  int n = 0;
  for (std::size_t t = 0; t < r.T(); ++t)
    for (std::size_t q = 0; q < r.R(); ++q) {
      const double p = r.precision_at(t, q, k, 0, r.M() - 1);
      if (p > -1) sum += p, ++n;
    }
  return n ? sum / n : -1;
}

}  // namespace

class TestCocoReference : public QObject {
  Q_OBJECT

 private slots:
  void matches_pycocotools_data() {
    QTest::addColumn<QString>("type");
    QTest::newRow("bbox") << "bbox";
    QTest::newRow("segm") << "segm";
  }
  void matches_pycocotools() {
    QFETCH(QString, type);
    const std::string t = type.toStdString();
    std::int64_t crowd = 0;
    const Expected want = expected_for(t.c_str(), &crowd);
    Dataset gt = read_coco(kDir + "/gt.json", kDir);
    gt.index();
    // The case is what it claims to be: crowd regions among the ground truth.
    std::int64_t crowd_read = 0;
    for (const Annotation& a : gt.annotations) crowd_read += a.iscrowd ? 1 : 0;
    QCOMPARE(crowd_read, crowd);
    QVERIFY(crowd > 0);
    const IouType iou = parse_iou_type(t);
    const std::vector<Detection> dt = read_coco_results(kDir + "/" + t + "_results.json", gt, iou);
    QCOMPARE(dt.size(), std::size_t(839));
    for (int threads : {1, 2}) {
      const CocoEvalResult r = evaluate_coco(gt, dt, iou, {}, {}, threads);
      QCOMPARE(want.stats.size(), std::size_t(12));
      for (std::size_t i = 0; i < 12; ++i)
        QVERIFY2(std::abs(r.stats[i] - want.stats[i]) <= 1e-12,
                 qPrintable(QString("%1 %2 (%3 threads): %4, pycocotools %5")
                                .arg(type, summary_names()[i])
                                .arg(threads)
                                .arg(r.stats[i], 0, 'g', 17)
                                .arg(want.stats[i], 0, 'g', 17)));
      QCOMPARE(r.K(), want.per_category.size());
      for (std::size_t k = 0; k < r.K(); ++k) {
        QCOMPARE(r.cat_ids[k], want.per_category[k].first);
        QVERIFY2(std::abs(category_ap(r, k) - want.per_category[k].second) <= 1e-12,
                 qPrintable(QString("%1 category %2: %3, pycocotools %4")
                                .arg(type)
                                .arg(r.cat_ids[k])
                                .arg(category_ap(r, k), 0, 'g', 17)
                                .arg(want.per_category[k].second, 0, 'g', 17)));
      }
    }
  }
};

QTEST_GUILESS_MAIN(TestCocoReference)
#include "test_coco_reference.moc"
