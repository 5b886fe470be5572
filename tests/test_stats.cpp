// Dataset statistics on a small dataset whose numbers are worked out by hand below.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <sstream>

#include "data/stats.h"
#include "test_support.h"

using namespace studio;

namespace {

Annotation ann(std::int64_t id, std::int64_t image_id, std::int64_t category_id, double w, double h, double area) {
  Annotation a;
  a.id = id;
  a.image_id = image_id;
  a.category_id = category_id;
  a.bbox = {0, 0, w, h};
  a.area = area;
  return a;
}

//   id img class  box       area     COCO size  sqrt(w*h)       log2(w/h)
//   1  1   cat    10x10     100      small      10    [8,16)    0      [-0.5,0.5)
//   2  1   cat    40x20     700      small      28.3  [16,32)   1      [1,2)
//   3  2   dog    50x50     (0->box) medium     50    [32,64)   0      [-0.5,0.5)
//   4  2   cat    100x100   9216     medium     100   [96,128)  0      [-0.5,0.5)   (96^2 is medium)
//   5  3   dog    10x200    9300     large      44.7  [32,64)   -4.32  [-inf,-3)    crowd
//   6  3   dog    1000x600  600000   large      774.6 [512,inf) 0.74   [0.5,1)      difficult
//   7  3   (9)    0x5       0        -          -               -                   unknown class, degenerate
//   8  1   cat    32x32     1024     medium     32    [32,64)   0      [-0.5,0.5)   (32^2 is medium)
// Image 4 has no annotations; "bird" has none.
Dataset hand_dataset() {
  Dataset ds;
  ds.categories = {{1, "cat", "animal"}, {2, "dog", "animal"}, {3, "bird", "animal"}};
  ds.images = {{1, "1.jpg", 1000, 1000}, {2, "2.jpg", 1000, 1000}, {3, "3.jpg", 1000, 1000}, {4, "4.jpg", 1000, 1000}};
  ds.annotations = {ann(1, 1, 1, 10, 10, 100),  ann(2, 1, 1, 40, 20, 700),        ann(3, 2, 2, 50, 50, 0),
                    ann(4, 2, 1, 100, 100, 9216), ann(5, 3, 2, 10, 200, 9300),   ann(6, 3, 2, 1000, 600, 600000),
                    ann(7, 3, 9, 0, 5, 0),        ann(8, 1, 1, 32, 32, 1024)};
  ds.annotations[4].iscrowd = true;
  ds.annotations[5].difficult = true;
  return ds;
}

}  // namespace

class TestStats : public QObject {
  Q_OBJECT

 private slots:
  void counts() {
    const DatasetStats s = compute_stats(hand_dataset());
    QCOMPARE(s.images, std::size_t(4));
    QCOMPARE(s.annotations, std::size_t(8));
    QCOMPARE(s.crowd, std::size_t(1));
    QCOMPARE(s.difficult, std::size_t(1));
    QCOMPARE(s.images_without_annotations, std::size_t(1));
  }

  void classes_data() {
    QTest::addColumn<int>("index");
    QTest::addColumn<qint64>("id");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("annotations");
    QTest::addColumn<int>("images");
    QTest::newRow("cat") << 0 << qint64(1) << "cat" << 4 << 2;
    QTest::newRow("dog") << 1 << qint64(2) << "dog" << 3 << 2;
    QTest::newRow("bird") << 2 << qint64(3) << "bird" << 0 << 0;
  }
  void classes() {
    QFETCH(int, index);
    QFETCH(qint64, id);
    QFETCH(QString, name);
    QFETCH(int, annotations);
    QFETCH(int, images);
    const DatasetStats s = compute_stats(hand_dataset());
    QCOMPARE(s.classes.size(), std::size_t(3));
    const ClassStats& c = s.classes[std::size_t(index)];
    QCOMPARE(qint64(c.category_id), id);
    QCOMPARE(QString::fromStdString(c.name), name);
    QCOMPARE(c.annotations, std::size_t(annotations));
    QCOMPARE(c.images, std::size_t(images));
  }

  void coco_sizes() {
    const DatasetStats s = compute_stats(hand_dataset());
    QCOMPARE(s.coco_sizes[0], std::size_t(2));
    QCOMPARE(s.coco_sizes[1], std::size_t(3));
    QCOMPARE(s.coco_sizes[2], std::size_t(2));
  }

  void histograms() {
    const DatasetStats s = compute_stats(hand_dataset());
    QCOMPARE(s.box_sqrt_area.edges.size(), s.box_sqrt_area.counts.size() + 1);
    QCOMPARE(s.aspect_ratio.edges.size(), s.aspect_ratio.counts.size() + 1);
    // Edges 0 8 16 32 64 96 128 256 512 inf.
    const std::vector<std::size_t> sizes = {0, 1, 1, 3, 0, 1, 0, 0, 1};
    QCOMPARE(s.box_sqrt_area.counts, sizes);
    QCOMPARE(s.box_sqrt_area.edges.front(), 0.0);
    QVERIFY(std::isinf(s.box_sqrt_area.edges.back()));
    // Edges -inf -3 -2 -1 -0.5 0.5 1 2 3 inf.
    const std::vector<std::size_t> aspects = {1, 0, 0, 0, 4, 1, 1, 0, 0};
    QCOMPARE(s.aspect_ratio.counts, aspects);
  }

  void empty_dataset() {
    const DatasetStats s = compute_stats(Dataset{});
    QCOMPARE(s.images, std::size_t(0));
    QVERIFY(s.classes.empty());
    QVERIFY(!stats_to_text(s).empty());
    QVERIFY(QJsonDocument::fromJson(QByteArray::fromStdString(stats_to_json(s))).isObject());
  }

  void json() {
    const DatasetStats s = compute_stats(hand_dataset());
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(stats_to_json(s)), &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    const QJsonObject o = doc.object();
    QCOMPARE(o["images"].toInt(), 4);
    QCOMPARE(o["annotations"].toInt(), 8);
    QCOMPARE(o["crowd"].toInt(), 1);
    QCOMPARE(o["difficult"].toInt(), 1);
    QCOMPARE(o["images_without_annotations"].toInt(), 1);
    const QJsonArray classes = o["classes"].toArray();
    QCOMPARE(classes.size(), 3);
    QCOMPARE(classes[1].toObject()["name"].toString(), QString("dog"));
    QCOMPARE(classes[1].toObject()["id"].toInt(), 2);
    QCOMPARE(classes[1].toObject()["annotations"].toInt(), 3);
    QCOMPARE(classes[1].toObject()["images"].toInt(), 2);
    const QJsonObject sizes = o["coco_sizes"].toObject();
    QCOMPARE(sizes["small"].toInt(), 2);
    QCOMPARE(sizes["medium"].toInt(), 3);
    QCOMPARE(sizes["large"].toInt(), 2);
    const QJsonObject hist = o["box_sqrt_area"].toObject();
    QCOMPARE(hist["counts"].toArray().size(), 9);
    QCOMPARE(hist["counts"].toArray()[3].toInt(), 3);
    QCOMPARE(hist["edges"].toArray().size(), 10);
    QVERIFY(hist["edges"].toArray()[9].isNull());  // the open top end
    const QJsonObject aspect = o["aspect_ratio_log2"].toObject();
    QVERIFY(aspect["edges"].toArray()[0].isNull());
    QCOMPARE(aspect["edges"].toArray()[1].toDouble(), -3.0);
    QCOMPARE(aspect["counts"].toArray()[4].toInt(), 4);
  }

  void text_table_is_aligned() {
    const std::string text = stats_to_text(compute_stats(hand_dataset()));
    QVERIFY(studio::test::contains(text, "images       4 (1 without annotations)"));
    QVERIFY(studio::test::contains(text, "small (< 32^2) 2, medium 3, large (> 96^2) 2"));
    // The class table: header and one row per class, all the same width, numbers right-aligned.
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> table;
    while (std::getline(in, line)) {
      if (studio::test::contains(line, "annotations  images") || (!table.empty() && !line.empty() && table.size() < 4))
        table.push_back(line);
    }
    QCOMPARE(table.size(), std::size_t(4));
    for (const std::string& row : table) QCOMPARE(row.size(), table[0].size());
    QCOMPARE(table[1], std::string(" 1  cat              4       2"));
    QCOMPARE(table[3], std::string(" 3  bird             0       0"));
    QVERIFY(studio::test::contains(text, "[32, 64)"));
    QVERIFY(studio::test::contains(text, ">= 512"));
  }
};

QTEST_APPLESS_MAIN(TestStats)
#include "test_stats.moc"
