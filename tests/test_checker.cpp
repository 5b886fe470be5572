// The annotation checker: a clean dataset gives no findings; a dataset with one planted fault per
// code gives exactly those findings, where they were planted.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <atomic>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "common/error.h"
#include "data/checker.h"
#include "data/coco_io.h"
#include "data/image_io.h"
#include "data/txt_reader.h"
#include "data/voc_reader.h"
#include "test_support.h"

using namespace studio;

namespace {

constexpr int kWidth = 64;
constexpr int kHeight = 48;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void write_image(const QTemporaryDir& dir, const std::string& name, int w, int h) {
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 7);
  write_rgb_image(dir.filePath(QString::fromStdString(name)).toStdString(), rgb.data(), w, h);
}

// An octagon touching all four sides of the box, so its extent is the box.
std::vector<double> octagon(double x, double y, double w, double h) {
  const double a = w / 4, b = h / 4;
  return {x + a, y, x + w - a, y, x + w, y + b, x + w, y + h - b, x + w - a, y + h, x + a, y + h, x, y + h - b, x, y + b};
}

// A filled rectangle as COCO RLE (column-major runs starting with zeros).
Rle rect_rle(std::uint32_t x, std::uint32_t y, std::uint32_t w, std::uint32_t h, std::uint32_t img_w,
             std::uint32_t img_h) {
  Rle r;
  r.h = img_h;
  r.w = img_w;
  r.counts.push_back(x * img_h + y);
  for (std::uint32_t c = 0; c < w; ++c) {
    r.counts.push_back(h);
    r.counts.push_back(c + 1 < w ? img_h - h : img_h - (y + h) + (img_w - x - w) * img_h);
  }
  return r;
}

Annotation box_only(std::int64_t id, std::int64_t image_id, std::int64_t category_id, std::array<double, 4> bbox) {
  Annotation a;
  a.id = id;
  a.image_id = image_id;
  a.category_id = category_id;
  a.bbox = bbox;
  a.area = bbox[2] * bbox[3];
  return a;
}

Annotation shape(std::int64_t id, std::int64_t image_id, std::int64_t category_id, std::array<double, 4> bbox) {
  Annotation a = box_only(id, image_id, category_id, bbox);
  a.polygons = {octagon(bbox[0], bbox[1], bbox[2], bbox[3])};
  return a;
}

// Images 1..n (written as PNGs, 64x48) with 3 circles and 3 squares each, sizes 10..14 px on a
// grid so that no two boxes overlap; one square per image carries an RLE mask instead.
Dataset clean_dataset(const QTemporaryDir& dir, const std::vector<std::int64_t>& image_ids) {
  Dataset ds;
  ds.image_root = dir.path().toStdString();
  ds.source = "test";
  ds.categories = {{1, "circle", "shape"}, {2, "square", "shape"}};
  std::int64_t next_id = 1;
  int k = 0;
  for (std::int64_t image_id : image_ids) {
    const std::string name = "img" + std::to_string(image_id) + ".png";
    write_image(dir, name, kWidth, kHeight);
    ds.images.push_back({image_id, name, kWidth, kHeight});
    for (int slot = 0; slot < 6; ++slot, ++k) {
      const double x = 2 + 20 * (slot % 3), y = 2 + 24 * (slot / 3);
      const double w = 10 + k % 5, h = 10 + (k * 3) % 5;
      const std::int64_t cat = slot % 2 == 0 ? 1 : 2;
      Annotation a = shape(next_id++, image_id, cat, {x, y, w, h});
      if (slot == 5) {
        a.polygons.clear();
        a.rle = rect_rle(std::uint32_t(x), std::uint32_t(y), std::uint32_t(w), std::uint32_t(h), kWidth, kHeight);
      }
      ds.annotations.push_back(a);
    }
  }
  return ds;
}

// Where each planted fault is expected: code, image id, annotation id (0 = none).
using Place = std::tuple<std::string, std::int64_t, std::int64_t>;

Place place_of(const Finding& f) { return {f.code, f.image_id.value_or(0), f.annotation_id.value_or(0)}; }

// One fault per code (the degenerate box and bad polygon in several forms). Images 1-4 are clean
// ones; 10-13 carry the file faults; annotations 100+ carry the annotation faults.
Dataset planted_dataset(const QTemporaryDir& dir) {
  Dataset ds = clean_dataset(dir, {1, 2, 3, 4, 10, 11, 12});
  ds.categories.push_back({3, "rare", "shape"});
  // 10: its file was never written. 11: not an image. 12: written at another size. 13: no annotations.
  ds.images.push_back({13, "img13.png", kWidth, kHeight});
  write_image(dir, "img13.png", kWidth, kHeight);
  QFile::remove(dir.filePath("img10.png"));
  studio::test::write_text(dir, "garbage.jpg", "this is not a JPEG, just text pretending to be one");
  for (auto& img : ds.images) {
    if (img.id == 11) img.file_name = "garbage.jpg";
  }
  write_image(dir, "img12.png", 80, 60);
  // A second image entry reusing id 4.
  write_image(dir, "img4_again.png", kWidth, kHeight);
  ds.images.push_back({4, "img4_again.png", kWidth, kHeight});

  auto& anns = ds.annotations;
  anns.push_back(box_only(100, 1, 2, {10, 10, 500, 20}));   // out of bounds
  anns.push_back(box_only(101, 2, 2, {5, 30, 0, 10}));      // zero width
  anns.push_back(box_only(102, 2, 2, {25, 30, 10, -3}));    // negative height
  anns.push_back(box_only(103, 3, 2, {5, 30, kNaN, 10}));   // NaN width
  anns.push_back(box_only(104, 3, 2, {25, 30, 10, kInf}));  // infinite height
  anns.push_back(shape(105, 999, 1, {5, 5, 12, 12}));       // unknown image
  anns.push_back(shape(106, 2, 77, {5, 5, 12, 12}));        // unknown category
  anns.push_back(shape(107, 2, 1, {44, 30, 12, 11}));       // id 107 twice: the second one is the fault
  anns.push_back(shape(107, 3, 1, {44, 30, 12, 11}));
  Annotation few = shape(108, 4, 2, {30, 5, 11, 11});
  few.polygons = {{30, 5, 41, 16}};
  anns.push_back(few);
  Annotation odd = shape(109, 4, 2, {30, 28, 11, 11});
  odd.polygons = {octagon(30, 28, 11, 11), {30, 28, 41, 28, 41}};
  anns.push_back(odd);
  Annotation nan_poly = shape(110, 4, 1, {10, 30, 11, 11});
  nan_poly.polygons[0][3] = kNaN;
  anns.push_back(nan_poly);
  Annotation far_mask = shape(111, 10, 2, {2, 2, 10, 10});
  far_mask.polygons = {octagon(40, 30, 10, 10)};
  anns.push_back(far_mask);
  Annotation far_rle = box_only(112, 11, 2, {2, 2, 12, 12});
  far_rle.rle = rect_rle(44, 30, 12, 12, kWidth, kHeight);
  anns.push_back(far_rle);
  // A copy of annotation 1 (image 1, circle [2,2,10,10]) shifted by 0.3 px: IoU 0.94.
  Annotation twin = anns.front();
  twin.id = 113;
  twin.bbox[0] += 0.3;
  twin.polygons = {octagon(twin.bbox[0], twin.bbox[1], twin.bbox[2], twin.bbox[3])};
  anns.push_back(twin);
  anns.push_back(shape(114, 12, 1, {20, 4, 40, 40}));  // a circle far larger than the others
  anns.push_back(shape(120, 3, 3, {2, 30, 12, 12}));   // the rare class: 2 against 20+ circles
  anns.push_back(shape(121, 4, 3, {2, 30, 12, 12}));
  return ds;
}

const std::vector<Place>& planted_places() {
  static const std::vector<Place> kPlaces = {
      {"class_imbalance", 0, 0},
      {"bbox_out_of_bounds", 1, 100},
      {"duplicate_annotation", 1, 113},
      {"bbox_degenerate", 2, 101},
      {"bbox_degenerate", 2, 102},
      {"unknown_category", 2, 106},
      {"bbox_degenerate", 3, 103},
      {"bbox_degenerate", 3, 104},
      {"duplicate_annotation_id", 3, 107},
      {"duplicate_image_id", 4, 0},
      {"bad_polygon", 4, 108},
      {"bad_polygon", 4, 109},
      {"bad_polygon", 4, 110},
      {"missing_file", 10, 0},
      {"mask_bbox_mismatch", 10, 111},
      {"unreadable_image", 11, 0},
      {"mask_bbox_mismatch", 11, 112},
      {"size_mismatch", 12, 0},
      {"unusual_box_size", 12, 114},
      {"no_annotations", 13, 0},
      {"unknown_image", 999, 105},
  };
  return kPlaces;
}

std::string describe(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& f : findings) {
    out += "\n  " + f.code + " image=" + (f.image_id ? std::to_string(*f.image_id) : "-") +
           " ann=" + (f.annotation_id ? std::to_string(*f.annotation_id) : "-") + ": " + f.message;
  }
  return out;
}

const Finding* find(const CheckReport& report, const std::string& code, std::int64_t image_id,
                    std::int64_t annotation_id) {
  for (const Finding& f : report.findings)
    if (place_of(f) == Place{code, image_id, annotation_id}) return &f;
  return nullptr;
}

}  // namespace

class TestChecker : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  Dataset planted_;
  CheckReport report_;

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    planted_ = planted_dataset(dir_);
    CheckOptions options;
    options.threads = 1;
    report_ = check_dataset(planted_, options);
  }

  void clean_dataset_has_no_findings() {
    QTemporaryDir dir;
    const Dataset ds = clean_dataset(dir, {1, 2, 3, 4, 5});
    const CheckReport report = check_dataset(ds);
    QVERIFY2(report.findings.empty(), describe(report.findings).c_str());
    QCOMPARE(report.errors, std::size_t(0));
    QCOMPARE(report.warnings, std::size_t(0));
    QCOMPARE(report.images_checked, std::size_t(5));
  }

  void planted_fault_found_data() {
    QTest::addColumn<QString>("code");
    QTest::addColumn<qint64>("image_id");
    QTest::addColumn<qint64>("annotation_id");
    for (const auto& [code, image_id, annotation_id] : planted_places()) {
      const std::string row = code + " image " + std::to_string(image_id) + " ann " + std::to_string(annotation_id);
      QTest::newRow(row.c_str()) << QString::fromStdString(code) << qint64(image_id) << qint64(annotation_id);
    }
  }
  void planted_fault_found() {
    QFETCH(QString, code);
    QFETCH(qint64, image_id);
    QFETCH(qint64, annotation_id);
    const Finding* f = find(report_, code.toStdString(), image_id, annotation_id);
    QVERIFY2(f, ("not found; the checker said:" + describe(report_.findings)).c_str());
    QVERIFY(!f->message.empty());
    const bool warning = code == "no_annotations" || code == "class_imbalance" || code == "unusual_box_size";
    QVERIFY(f->severity == (warning ? Severity::Warning : Severity::Error));
    QCOMPARE(f->image_id.has_value(), image_id != 0);
    QCOMPARE(f->annotation_id.has_value(), annotation_id != 0);
  }

  void nothing_spurious() {
    std::multiset<Place> expected(planted_places().begin(), planted_places().end());
    std::multiset<Place> got;
    for (const Finding& f : report_.findings) got.insert(place_of(f));
    QVERIFY2(got == expected, ("findings differ from the planted faults:" + describe(report_.findings)).c_str());
    QCOMPARE(report_.warnings, std::size_t(3));
    QCOMPARE(report_.errors, planted_places().size() - 3);
    QCOMPARE(report_.images_checked, planted_.images.size());
  }

  void findings_sorted() {
    for (std::size_t i = 1; i < report_.findings.size(); ++i) {
      const Finding& a = report_.findings[i - 1];
      const Finding& b = report_.findings[i];
      QVERIFY(std::tie(a.image_id, a.annotation_id, a.code) <= std::tie(b.image_id, b.annotation_id, b.code));
    }
  }

  // The messages carry the numbers a person needs to fix the fault.
  void messages_data() {
    QTest::addColumn<QString>("code");
    QTest::addColumn<qint64>("image_id");
    QTest::addColumn<qint64>("annotation_id");
    QTest::addColumn<QStringList>("parts");
    QTest::newRow("out of bounds") << "bbox_out_of_bounds" << qint64(1) << qint64(100)
                                   << QStringList{"[10,10,500,20]", "446 px past the right edge", "64x48 image"};
    QTest::newRow("zero width") << "bbox_degenerate" << qint64(2) << qint64(101) << QStringList{"zero width"};
    QTest::newRow("negative height") << "bbox_degenerate" << qint64(2) << qint64(102)
                                     << QStringList{"negative height (-3)"};
    QTest::newRow("NaN width") << "bbox_degenerate" << qint64(3) << qint64(103) << QStringList{"NaN width"};
    QTest::newRow("infinite height") << "bbox_degenerate" << qint64(3) << qint64(104)
                                     << QStringList{"infinite height"};
    QTest::newRow("size") << "size_mismatch" << qint64(12) << qint64(0) << QStringList{"64x48", "80x60"};
    QTest::newRow("few points") << "bad_polygon" << qint64(4) << qint64(108) << QStringList{"2 points"};
    QTest::newRow("odd count") << "bad_polygon" << qint64(4) << qint64(109)
                               << QStringList{"polygon 2 of 2", "5 coordinates", "odd"};
    QTest::newRow("NaN point") << "bad_polygon" << qint64(4) << qint64(110) << QStringList{"NaN", "coordinate 3"};
    QTest::newRow("far polygon") << "mask_bbox_mismatch" << qint64(10) << qint64(111)
                                 << QStringList{"[2,2,10,10]", "polygon extent [40,30,10,10]", "IoU 0"};
    QTest::newRow("far RLE") << "mask_bbox_mismatch" << qint64(11) << qint64(112)
                             << QStringList{"RLE mask extent [44,30,12,12]"};
    QTest::newRow("twin") << "duplicate_annotation" << qint64(1) << qint64(113)
                          << QStringList{"annotation 1", "'circle'", "IoU"};
    QTest::newRow("imbalance") << "class_imbalance" << qint64(0) << qint64(0)
                               << QStringList{"'square' has 30", "'rare' has 2", "15:1"};
    QTest::newRow("outlier") << "unusual_box_size" << qint64(12) << qint64(114)
                             << QStringList{"40x40", "large", "'circle'", "mean size of 1"};
    QTest::newRow("twice") << "duplicate_annotation_id" << qint64(3) << qint64(107)
                           << QStringList{"first on image 2, again on image 3"};
    QTest::newRow("unknown image") << "unknown_image" << qint64(999) << qint64(105) << QStringList{"999"};
    QTest::newRow("unknown category") << "unknown_category" << qint64(2) << qint64(106) << QStringList{"77"};
    QTest::newRow("garbage") << "unreadable_image" << qint64(11) << qint64(0) << QStringList{"garbage.jpg"};
    QTest::newRow("missing") << "missing_file" << qint64(10) << qint64(0) << QStringList{"img10.png"};
  }
  void messages() {
    QFETCH(QString, code);
    QFETCH(qint64, image_id);
    QFETCH(qint64, annotation_id);
    QFETCH(QStringList, parts);
    const Finding* f = find(report_, code.toStdString(), image_id, annotation_id);
    QVERIFY(f);
    for (const QString& part : parts)
      QVERIFY2(studio::test::contains(f->message, part.toStdString()),
               qPrintable(QString("message '%1' lacks '%2'").arg(f->message.c_str(), part)));
  }

  void json_has_the_fields() {
    const std::string json = findings_to_json(report_.findings);
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    QVERIFY(doc.isArray());
    const QJsonArray array = doc.array();
    QCOMPARE(std::size_t(array.size()), report_.findings.size());
    for (int i = 0; i < array.size(); ++i) {
      const QJsonObject o = array[i].toObject();
      const Finding& f = report_.findings[std::size_t(i)];
      QCOMPARE(o["code"].toString().toStdString(), f.code);
      QCOMPARE(o["severity"].toString(), QString(severity_name(f.severity)));
      QCOMPARE(o["file"].toString().toStdString(), f.file);
      QCOMPARE(o["message"].toString().toStdString(), f.message);
      QCOMPARE(o.contains("image_id"), f.image_id.has_value());
      QCOMPARE(o.contains("annotation_id"), f.annotation_id.has_value());
      if (f.image_id) QCOMPARE(o["image_id"].toInteger(), qint64(*f.image_id));
      if (f.annotation_id) QCOMPARE(o["annotation_id"].toInteger(), qint64(*f.annotation_id));
      // A dataset built in code records no source lines, so the key is left out.
      QVERIFY(f.source.empty());
      QVERIFY(!o.contains("source"));
    }
    QCOMPARE(findings_to_json({}), std::string("[]"));
  }

  void cancel_before_start_throws() {
    std::atomic<bool> cancel{true};
    Progress progress;
    progress.cancel = &cancel;
    bool cancelled = false;
    try {
      (void)check_dataset(planted_, {}, progress);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
  }

  // Cancelling from the progress callback (as the GUI's button does mid-run) stops the decoding.
  void cancel_during_decoding_throws() {
    std::atomic<bool> cancel{false};
    std::atomic<std::size_t> reports{0};
    Progress progress;
    progress.cancel = &cancel;
    progress.report = [&](std::size_t, std::size_t, const std::string&) {
      ++reports;
      cancel = true;
    };
    CheckOptions options;
    options.threads = 2;
    bool cancelled = false;
    try {
      (void)check_dataset(planted_, options, progress);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
    QVERIFY(reports < planted_.images.size());
  }

  void progress_reports_decoding() {
    std::mutex mutex;
    std::size_t last_done = 0, last_total = 0, calls = 0;
    bool monotonic = true;
    Progress progress;
    progress.report = [&](std::size_t done, std::size_t total, const std::string& stage) {
      if (stage != "decoding images") return;
      std::lock_guard<std::mutex> lock(mutex);
      monotonic = monotonic && done > last_done;
      last_done = done;
      last_total = total;
      ++calls;
    };
    CheckOptions options;
    options.threads = 3;
    (void)check_dataset(planted_, options, progress);
    QVERIFY(monotonic);
    QCOMPARE(calls, planted_.images.size());
    QCOMPARE(last_done, planted_.images.size());
    QCOMPARE(last_total, planted_.images.size());
  }

  void threads_give_the_same_findings() {
    CheckOptions options;
    options.threads = 4;
    const CheckReport many = check_dataset(planted_, options);
    QCOMPARE(findings_to_json(many.findings), findings_to_json(report_.findings));
    options.threads = 0;  // all cores
    QCOMPARE(findings_to_json(check_dataset(planted_, options).findings), findings_to_json(report_.findings));
  }

  // Without decoding, the file faults go unseen and everything else is still found.
  void without_decoding() {
    CheckOptions options;
    options.decode_images = false;
    const CheckReport report = check_dataset(planted_, options);
    std::multiset<Place> expected;
    for (const Place& p : planted_places()) {
      const std::string& code = std::get<0>(p);
      if (code != "missing_file" && code != "unreadable_image" && code != "size_mismatch") expected.insert(p);
    }
    std::multiset<Place> got;
    for (const Finding& f : report.findings) got.insert(place_of(f));
    QVERIFY2(got == expected, describe(report.findings).c_str());
  }

  void tolerance_allows_small_overshoot() {
    Dataset ds;
    ds.categories = {{1, "a", ""}};
    ds.images = {{1, "x.png", 100, 100}};
    ds.annotations = {box_only(1, 1, 1, {-0.5, 0, 100.9, 50}), box_only(2, 1, 1, {0, 0, 50, 101.5})};
    CheckOptions options;
    options.decode_images = false;
    const CheckReport report = check_dataset(ds, options);
    QCOMPARE(report.findings.size(), std::size_t(1));
    QCOMPARE(place_of(report.findings[0]), Place("bbox_out_of_bounds", 1, 2));
    QVERIFY(studio::test::contains(report.findings[0].message, "1.5 px past the bottom edge of a 100x100 image"));
  }

  // A COCO file without an "annotations" key (pycocotools reads it, as a test-set image list) is
  // said once, naming the file, instead of once an image; one with an empty list is not that.
  void coco_without_an_annotation_list() {
    QTemporaryDir dir;
    const std::string images = R"("images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 3},
                                             {"id": 2, "file_name": "b.png", "width": 4, "height": 3}],
                                  "categories": [{"id": 1, "name": "a"}])";
    const std::string path = studio::test::write_text(dir, "test2017.json", "{" + images + "}");
    CheckOptions options;
    options.decode_images = false;
    const CheckReport report = check_dataset(read_coco(path, dir.path().toStdString()), options);
    QCOMPARE(report.findings.size(), std::size_t(1));
    QCOMPARE(report.findings[0].code, std::string("no_annotation_list"));
    QVERIFY(report.findings[0].severity == Severity::Warning);
    QCOMPARE(report.findings[0].file, path);
    QVERIFY(studio::test::contains(report.findings[0].message, "no \"annotations\" list"));
    QVERIFY(studio::test::contains(report.findings[0].message, "2 images"));
    const CheckReport empty = check_dataset(
        read_coco(studio::test::write_text(dir, "empty.json", "{" + images + R"(, "annotations": []})"), ""), options);
    QCOMPARE(empty.findings.size(), std::size_t(2));
    for (const Finding& f : empty.findings) QCOMPARE(f.code, std::string("no_annotations"));
  }

  // Read from a TXT list, a box outside its image and a missing image name the list file and
  // line they are written on; checking changes no file.
  void txt_findings_name_list_line() {
    QTemporaryDir dir;
    write_image(dir, "a.png", 20, 10);
    write_image(dir, "b.png", 20, 10);
    const std::string list = studio::test::write_text(
        dir, "list.txt",
        "# x1,y1,x2,y2,cls\na.png 1,1,5,5,0\n\nb.png 2,2,6,6,0 10,2,30,8,0\nc.png 1,1,2,2,0\n");
    const auto before = studio::test::folder_bytes(dir.path().toStdString());
    const CheckReport report = check_dataset(read_txt(list, dir.path().toStdString()));
    const Finding* box = find(report, "bbox_out_of_bounds", 2, 3);
    QVERIFY2(box, describe(report.findings).c_str());
    QCOMPARE(box->source, list + ":4");
    QVERIFY(studio::test::contains(box->message, "10 px past the right edge of a 20x10 image"));
    const Finding* missing = find(report, "missing_file", 3, 0);
    QVERIFY2(missing, describe(report.findings).c_str());
    QCOMPARE(missing->source, list + ":5");
    QVERIFY(studio::test::contains(findings_to_json(report.findings), "\"source\":\"" + list + ":4\""));
    QCOMPARE(report.errors, std::size_t(2));
    QVERIFY(studio::test::folder_bytes(dir.path().toStdString()) == before);
  }

  // A file name that leaves the image folder (absolute, or climbing out with ..) is a warning
  // naming the name and the folder; a name that goes down and back up stays inside and is fine.
  void paths_outside_the_image_folder() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath("imgs"));
    write_image(dir, "imgs/a.png", 20, 10);
    const std::string list = studio::test::write_text(
        dir, "list.txt", "a.png 1,1,5,5,0\nsub/../a.png 1,1,5,5,0\n../../etc/passwd 1,1,5,5,0\n/etc/hostname 1,1,5,5,0\n");
    const CheckReport report = check_dataset(read_txt(list, dir.filePath("imgs").toStdString()));
    std::vector<const Finding*> outside;
    for (const Finding& f : report.findings)
      if (f.code == "path_outside_image_folder") outside.push_back(&f);
    QVERIFY2(outside.size() == 2, describe(report.findings).c_str());
    QVERIFY(outside[0]->severity == Severity::Warning);
    QVERIFY(studio::test::contains(outside[0]->message, "'../../etc/passwd' climbs out with .."));
    QVERIFY(studio::test::contains(outside[0]->message, "leaves the image folder"));
    QCOMPARE(outside[0]->source, list + ":3");
    QVERIFY(studio::test::contains(outside[1]->message, "'/etc/hostname' is an absolute path"));
  }

  // Read from VOC, a box outside its image names the XML file and its <object>'s line.
  void voc_findings_name_xml_line() {
    QTemporaryDir dir;
    for (const char* sub : {"VOC/Annotations", "VOC/ImageSets/Main", "VOC/JPEGImages"})
      QVERIFY(QDir(dir.path()).mkpath(sub));
    write_image(dir, "VOC/JPEGImages/a.jpg", 20, 10);
    const std::string box1 = "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>";
    const std::string box2 = "<bndbox><xmin>3</xmin><ymin>-4</ymin><xmax>8</xmax><ymax>6</ymax></bndbox>";
    const std::string xml = studio::test::write_text(
        dir, "VOC/Annotations/a.xml",
        "<annotation>\n<size><width>20</width><height>10</height></size>\n<object><name>cat</name>" + box1 +
            "</object>\n<object>\n<name>dog</name>\n" + box2 + "\n</object>\n</annotation>\n");
    studio::test::write_text(dir, "VOC/ImageSets/Main/train.txt", "a\n");
    const auto before = studio::test::folder_bytes(dir.path().toStdString());
    VocOptions options;
    options.roots = {dir.filePath("VOC").toStdString()};
    options.split = "train";
    const CheckReport report = check_dataset(read_voc(options));
    QCOMPARE(report.errors, std::size_t(1));
    const Finding* box = find(report, "bbox_out_of_bounds", 1, 2);
    QVERIFY2(box, describe(report.findings).c_str());
    QCOMPARE(box->source, xml + ":4");
    QVERIFY(studio::test::contains(box->message, "5 px past the top edge of a 20x10 image"));
    QVERIFY(find(report, "size_not_recorded", 1, 0) == nullptr);
    QVERIFY(studio::test::folder_bytes(dir.path().toStdString()) == before);

    // A <size> of 0 is read from the image file, and said.
    studio::test::write_text(dir, "VOC/Annotations/a.xml",
                             "<annotation>\n<size><width>0</width><height>10</height></size>\n<object><name>cat</name>" +
                                 box1 + "</object>\n</annotation>\n");
    const CheckReport zero = check_dataset(read_voc(options));
    const Finding* size = find(zero, "size_not_recorded", 1, 0);
    QVERIFY2(size, describe(zero.findings).c_str());
    QVERIFY(size->severity == Severity::Warning);
    QVERIFY(studio::test::contains(size->message, "records a width or height of 0; the reader took 20x10"));
    QCOMPARE(size->source, xml + ":1");
  }
};

QTEST_APPLESS_MAIN(TestChecker)
#include "test_checker.moc"
