// Pascal VOC reader on VOCdevkit trees written by the test: two roots combined, flags, the box
// convention, instance masks from SegmentationObject PNGs, and one test per malformed input.
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>

#include "common/error.h"
#include "data/image_io.h"
#include "data/rle.h"
#include "data/voc_reader.h"
#include "png_writer.h"
#include "test_support.h"

using namespace studio;

namespace {

// Field values are strings so a test can put "abc" in a number; "-" leaves the element out.
struct Obj {
  std::string name;
  std::string xmin, ymin, xmax, ymax;
  std::string difficult = "0";
  std::string truncated = "0";
};

// One element a line, so line numbers are known: <object> k (0-based) starts on line 9 + 11k,
// its <name> is the next line, <bndbox> is line 13 + 11k and <xmin> line 14 + 11k.
std::string voc_xml(const std::string& id, int width, int height, const std::vector<Obj>& objects) {
  std::string x = "<annotation>\n  <folder>VOC</folder>\n  <filename>" + id + ".jpg</filename>\n  <size>\n";
  x += "    <width>" + std::to_string(width) + "</width>\n    <height>" + std::to_string(height) +
       "</height>\n    <depth>3</depth>\n  </size>\n";
  const auto field = [](const std::string& indent, const std::string& tag, const std::string& value) {
    return value == "-" ? std::string() : indent + "<" + tag + ">" + value + "</" + tag + ">\n";
  };
  for (const Obj& o : objects) {
    x += "  <object>\n" + field("    ", "name", o.name) + field("    ", "truncated", o.truncated) +
         field("    ", "difficult", o.difficult) + "    <bndbox>\n" + field("      ", "xmin", o.xmin) +
         field("      ", "ymin", o.ymin) + field("      ", "xmax", o.xmax) + field("      ", "ymax", o.ymax) +
         "    </bndbox>\n  </object>\n";
  }
  return x + "</annotation>\n";
}

// A VOCdevkit root under `dir`: annotation files, a split listing the ids, and JPEGs.
struct VocRoot {
  std::string path;

  VocRoot(const QTemporaryDir& dir, const std::string& name) : path(dir.filePath(QString::fromStdString(name)).toStdString()) {
    for (const char* sub : {"Annotations", "JPEGImages", "ImageSets/Main", "SegmentationObject"})
      QDir().mkpath(QString::fromStdString(path + "/" + sub));
  }
  void write(const std::string& rel, const std::string& content) const {
    std::ofstream(path + "/" + rel, std::ios::binary) << content;
  }
  void add(const std::string& id, int w, int h, const std::vector<Obj>& objects) const {
    write("Annotations/" + id + ".xml", voc_xml(id, w, h, objects));
    std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3, 128);
    write_rgb_image(path + "/JPEGImages/" + id + ".jpg", rgb.data(), w, h);
  }
  void split(const std::string& name, const std::string& ids) const { write("ImageSets/Main/" + name + ".txt", ids); }
};

// Instance map for a w x h image: rectangles painted in order, each with its value.
struct Paint {
  int x0, y0, x1, y1;  // 0-based, x1/y1 exclusive
  std::uint8_t value;
};
std::vector<std::uint8_t> paint(int w, int h, const std::vector<Paint>& rects) {
  std::vector<std::uint8_t> m(std::size_t(w) * h, 0);
  for (const Paint& r : rects)
    for (int y = r.y0; y < r.y1; ++y)
      for (int x = r.x0; x < r.x1; ++x) m[std::size_t(y) * w + x] = r.value;
  return m;
}

// Checks an annotation's mask pixel by pixel against `index == value`.
void check_mask(const Annotation& a, const std::vector<std::uint8_t>& index, int w, int h, std::uint8_t value) {
  QVERIFY(a.rle.has_value());
  QCOMPARE(int(a.rle->w), w);
  QCOMPARE(int(a.rle->h), h);
  const std::vector<std::uint8_t> mask = rle_decode(*a.rle);
  QCOMPARE(mask.size(), index.size());
  std::size_t count = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    const bool want = index[i] == value;
    count += want;
    if (bool(mask[i]) != want)
      QFAIL(qPrintable(QString("pixel (%1,%2) of instance %3").arg(int(i) % w).arg(int(i) / w).arg(value)));
  }
  QCOMPARE(a.area, double(count));
  QVERIFY(count > 0);
}

VocOptions options_for(std::vector<std::string> roots, const std::string& split = "trainval") {
  VocOptions o;
  o.roots = std::move(roots);
  o.split = split;
  return o;
}

}  // namespace

class TestVocReader : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::string voc07_, voc12_;
  std::vector<std::uint8_t> mask1_, mask3_, mask4_;

 private slots:
  // VOC2007 (trainval: 000001 with a greyscale mask, 000002 without) and VOC2012 (trainval:
  // 2008_000001 with a palette mask, 2008_000002 with palette colours stored as RGB).
  void initTestCase() {
    QVERIFY(dir_.isValid());
    const VocRoot v07(dir_, "VOC2007");
    const VocRoot v12(dir_, "VOC2012");
    voc07_ = v07.path;
    voc12_ = v12.path;

    v07.add("000001", 40, 30,
            {{"dog", "1", "1", "10", "20", "0", "1"}, {"person", "11", "5", "30", "25", "1", "0"}});
    v07.add("000002", 50, 20, {{"car", "5.5", "2", "45", "19.5"}});
    v07.split("trainval", "000001\n\n000002\n");
    v07.split("test", "000002\n");
    // Class split: -1 marks images without the class.
    v07.split("dog_trainval", "000001  1\n000002 -1\n");
    mask1_ = paint(40, 30, {{0, 0, 10, 20, 1}, {10, 4, 30, 25, 2}, {9, 0, 11, 25, 255}});
    studio::test::write_index_png(voc07_ + "/SegmentationObject/000001.png", mask1_, 40, 30, false);

    // A person with layout parts: <part> boxes are not objects.
    v12.write("Annotations/2008_000001.xml",
              "<annotation><filename>2008_000001.jpg</filename>"
              "<size><width>20</width><height>16</height></size>"
              "<object><name>cat</name><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>8</xmax><ymax>9</ymax></bndbox>"
              "</object><object><name> person </name><difficult>0</difficult><truncated>1</truncated>"
              "<bndbox><xmin>9</xmin><ymin>1</ymin><xmax>20</xmax><ymax>16</ymax></bndbox>"
              "<part><name>head</name><bndbox><xmin>10</xmin><ymin>1</ymin><xmax>12</xmax><ymax>3</ymax></bndbox>"
              "</part></object></annotation>");
    std::vector<std::uint8_t> grey(20 * 16 * 3, 90);
    write_rgb_image(voc12_ + "/JPEGImages/2008_000001.jpg", grey.data(), 20, 16);
    mask3_ = paint(20, 16, {{1, 2, 8, 9, 1}, {8, 0, 20, 16, 2}, {7, 0, 9, 16, 255}});
    studio::test::write_index_png(voc12_ + "/SegmentationObject/2008_000001.png", mask3_, 20, 16, true);

    v12.add("2008_000002", 12, 10, {{"bird", "1", "1", "6", "6"}, {"bird", "6", "5", "12", "10"}});
    mask4_ = paint(12, 10, {{0, 0, 6, 6, 1}, {5, 4, 12, 10, 2}, {0, 9, 12, 10, 255}});
    std::vector<std::uint8_t> rgb;
    for (std::uint8_t v : mask4_) {
      const auto c = studio::test::voc_palette_colour(v);
      rgb.insert(rgb.end(), c.begin(), c.end());
    }
    write_rgb_image(voc12_ + "/SegmentationObject/2008_000002.png", rgb.data(), 12, 10);
    v12.split("trainval", "2008_000001\r\n2008_000002\r\n");
  }

  void two_roots_combined() {
    const Dataset ds = read_voc(options_for({voc07_, voc12_}));
    QCOMPARE(ds.format, DatasetFormat::Voc);
    QCOMPARE(ds.image_root, std::string());
    QCOMPARE(ds.source, "voc:" + voc07_ + "+" + voc12_ + ":trainval");
    QCOMPARE(ds.images.size(), std::size_t(4));
    const char* ids[] = {"000001", "000002", "2008_000001", "2008_000002"};
    const std::string roots[] = {voc07_, voc07_, voc12_, voc12_};
    const int sizes[][2] = {{40, 30}, {50, 20}, {20, 16}, {12, 10}};
    for (int i = 0; i < 4; ++i) {
      QCOMPARE(ds.images[i].id, std::int64_t(i + 1));
      QCOMPARE(ds.images[i].file_name, roots[i] + "/JPEGImages/" + ids[i] + ".jpg");
      QCOMPARE(ds.images[i].width, sizes[i][0]);
      QCOMPARE(ds.images[i].height, sizes[i][1]);
      QVERIFY(probe_image_size(ds.image_path(ds.images[i])).has_value());
    }
    QCOMPARE(ds.categories.size(), std::size_t(20));
    for (std::size_t k = 0; k < 20; ++k) {
      QCOMPARE(ds.categories[k].id, std::int64_t(k + 1));
      QCOMPARE(ds.categories[k].name, voc_class_names()[k]);
    }
    QCOMPARE(ds.annotations.size(), std::size_t(7));
    for (std::size_t k = 0; k < ds.annotations.size(); ++k) QCOMPARE(ds.annotations[k].id, std::int64_t(k + 1));
    const std::int64_t image_of[] = {1, 1, 2, 3, 3, 4, 4};
    const char* class_of[] = {"dog", "person", "car", "cat", "person", "bird", "bird"};
    for (std::size_t k = 0; k < 7; ++k) {
      QCOMPARE(ds.annotations[k].image_id, image_of[k]);
      QCOMPARE(ds.category_by_id(ds.annotations[k].category_id)->name, std::string(class_of[k]));
    }
    QCOMPARE(ds.annotations_of(3).size(), std::size_t(2));
  }

  void flags() {
    const Dataset ds = read_voc(options_for({voc07_, voc12_}));
    const bool difficult[] = {false, true, false, false, false, false, false};
    const bool truncated[] = {true, false, false, false, true, false, false};
    for (std::size_t k = 0; k < 7; ++k) {
      QCOMPARE(ds.annotations[k].difficult, difficult[k]);
      QCOMPARE(ds.annotations[k].truncated, truncated[k]);
      QVERIFY(!ds.annotations[k].iscrowd);
    }
  }

  // 1-based inclusive corners: xmin=1..xmax=10 covers the first 10 pixel columns -> x 0, w 10.
  void box_conversion() {
    VocOptions o = options_for({voc07_, voc12_});
    o.load_masks = false;
    const Dataset ds = read_voc(o);
    const std::array<double, 4> want[] = {{0, 0, 10, 20},  {10, 4, 20, 21}, {4.5, 1, 40.5, 18.5}, {1, 2, 7, 7},
                                          {8, 0, 12, 16}, {0, 0, 6, 6},   {5, 4, 7, 6}};
    for (std::size_t k = 0; k < 7; ++k) {
      QCOMPARE(ds.annotations[k].bbox, want[k]);
      QCOMPARE(ds.annotations[k].area, want[k][2] * want[k][3]);
      QVERIFY(!ds.annotations[k].rle.has_value());
    }
  }

  void masks_pixel_by_pixel() {
    const Dataset ds = read_voc(options_for({voc07_, voc12_}));
    check_mask(ds.annotations[0], mask1_, 40, 30, 1);  // greyscale PNG
    check_mask(ds.annotations[1], mask1_, 40, 30, 2);
    QVERIFY(!ds.annotations[2].rle.has_value());        // 000002 has no mask file
    check_mask(ds.annotations[3], mask3_, 20, 16, 1);  // palette PNG
    check_mask(ds.annotations[4], mask3_, 20, 16, 2);
    check_mask(ds.annotations[5], mask4_, 12, 10, 1);  // palette colours as RGB
    check_mask(ds.annotations[6], mask4_, 12, 10, 2);
    // The box stays the XML's, not the mask's.
    QCOMPARE(ds.annotations[0].bbox, (std::array<double, 4>{0, 0, 10, 20}));
  }

  void classes_found() {
    VocOptions o = options_for({voc07_, voc12_});
    o.standard_classes = false;
    const Dataset ds = read_voc(o);
    const std::vector<std::string> want = {"bird", "car", "cat", "dog", "person"};
    QCOMPARE(ds.categories.size(), want.size());
    for (std::size_t k = 0; k < want.size(); ++k) {
      QCOMPARE(ds.categories[k].name, want[k]);
      QCOMPARE(ds.categories[k].id, std::int64_t(k + 1));
    }
    const char* class_of[] = {"dog", "person", "car", "cat", "person", "bird", "bird"};
    for (std::size_t k = 0; k < 7; ++k)
      QCOMPARE(ds.category_by_id(ds.annotations[k].category_id)->name, std::string(class_of[k]));
  }

  void other_splits() {
    Dataset ds = read_voc(options_for({voc07_}, "test"));
    QCOMPARE(ds.images.size(), std::size_t(1));
    QCOMPARE(ds.images[0].file_name, voc07_ + "/JPEGImages/000002.jpg");
    ds = read_voc(options_for({voc07_}, "dog_trainval"));
    QCOMPARE(ds.images.size(), std::size_t(1));
    QCOMPARE(ds.images[0].file_name, voc07_ + "/JPEGImages/000001.jpg");
  }

  // Labelling tools write VOC-style XML for PNG images and sometimes a zero <size>.
  void png_images_and_zero_size() {
    QTemporaryDir d;
    const VocRoot r(d, "custom");
    r.write("Annotations/img7.xml",
            "<annotation><filename>img7.png</filename><size><width>0</width><height>0</height></size>"
            "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox>"
            "</object></annotation>");
    std::vector<std::uint8_t> rgb(9 * 7 * 3, 10);
    write_rgb_image(r.path + "/JPEGImages/img7.png", rgb.data(), 9, 7);
    // A stale <filename> from another image is ignored: the id decides.
    r.add("img8", 5, 4, {});
    r.write("Annotations/img8.xml", "<annotation><filename>holiday.jpg</filename><size><width>5</width>"
                                    "<height>4</height></size></annotation>");
    r.split("train", "img7\nimg8\n");
    const Dataset ds = read_voc(options_for({r.path}, "train"));
    QCOMPARE(ds.images[0].file_name, r.path + "/JPEGImages/img7.png");
    QCOMPARE(ds.images[0].width, 9);
    QCOMPARE(ds.images[0].height, 7);
    QCOMPARE(ds.images[1].file_name, r.path + "/JPEGImages/img8.jpg");
    QCOMPARE(ds.annotations_of(2).size(), std::size_t(0));

    QFile::remove(QString::fromStdString(r.path + "/JPEGImages/img7.png"));
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path}, "train")), "img7.xml:1: <size>: size is 0");
  }

  void progress_and_cancel() {
    std::size_t last_done = 0, last_total = 0, calls = 0;
    Progress p;
    p.report = [&](std::size_t done, std::size_t total, const std::string&) {
      last_done = done;
      last_total = total;
      ++calls;
    };
    (void)read_voc(options_for({voc07_, voc12_}), p);
    QVERIFY(calls >= 2);
    QCOMPARE(last_done, std::size_t(4));
    QCOMPARE(last_total, std::size_t(4));

    std::atomic<bool> cancel{true};
    p.cancel = &cancel;
    QVERIFY_THROWS_EXCEPTION(Cancelled, (void)read_voc(options_for({voc07_, voc12_}), p));
  }

  // ---- malformed input: each message names the file, the line and the element ----

  void error_non_numeric() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.add("000005", 40, 30, {{"dog", "1", "1", "10", "10"}, {"cat", "abc", "1", "10", "10"}});
    r.split("trainval", "000005\n");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})),
                        "VOC2007/Annotations/000005.xml:25: <object>/<bndbox>/<xmin>: expected a number, got 'abc'");
  }

  void error_missing_field() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.add("000005", 40, 30, {{"dog", "1", "1", "-", "10"}});
    r.split("trainval", "000005\n");
    // Reported on the line of the parent element that lacks it.
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "Annotations/000005.xml:13: <object>/<bndbox>/<xmax>: missing");
    r.add("000005", 40, 30, {{"-", "1", "1", "5", "10"}});
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:9: <object>/<name>: missing");
    r.write("Annotations/000005.xml", "<annotation>\n  <object/>\n</annotation>\n");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:1: <annotation>/<size>: missing");
  }

  void error_bad_values() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.split("trainval", "000005\n");
    r.add("000005", 40, 30, {{"dog", "9", "1", "3", "10"}});
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:13: <object>/<bndbox>: xmax is less than xmin");
    r.add("000005", 40, 30, {{"dog", "1", "1", "3", "10", "yes"}});
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:12: <object>/<difficult>: expected 0 or 1, got 'yes'");
    r.write("Annotations/000005.xml", "<annotation>\n<size>\n<width>4x</width>\n<height>3</height>\n</size>\n</annotation>");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:3: <size>/<width>: expected a number, got '4x'");
    r.write("Annotations/000005.xml", "<?xml version=\"1.0\"?>\n<annotations>\n</annotations>\n");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:2:", "expected the root element <annotation>");
    // Found by fuzz/fuzz_voc (fuzz/findings/voc): a side beyond int was converted to int anyway,
    // undefined behaviour (UBSan stops there); now refused like any other impossible size.
    r.write("Annotations/000005.xml",
            "<annotation>\n<size>\n<width>5000000000</width>\n<height>3</height>\n</size>\n</annotation>");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})),
                        "000005.xml:2: <size>: expected whole, non-negative", "at most 2147483647");
    r.write("Annotations/000005.xml",
            "<annotation>\n<size>\n<width>4</width>\n<height>1e300</height>\n</size>\n</annotation>");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml:2: <size>", "at most 2147483647");
  }

  void error_unknown_class() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.add("000005", 40, 30, {{"dog", "1", "1", "10", "10"}, {"dragon", "1", "1", "10", "10"}});
    r.split("trainval", "000005\n");
    const auto before = studio::test::folder_bytes(d.path().toStdString());
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})),
                        "000005.xml:21: <object>/<name>: unknown class 'dragon'", "aeroplane", "standard_classes: false");
    QVERIFY(studio::test::folder_bytes(d.path().toStdString()) == before);
    VocOptions o = options_for({r.path});
    o.standard_classes = false;
    QCOMPARE(read_voc(o).categories.size(), std::size_t(2));
  }

  // A names file fixes the classes and their order; a <name> it does not list is an error naming
  // the XML file, the <name>'s line, the name and the listed names, and no file changes.
  void names_file() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.add("000005", 40, 30, {{"person", "1", "1", "10", "10"}, {"dog", "2", "2", "12", "12"}});
    r.add("000006", 40, 30, {{"dog", "1", "1", "10", "10"}, {"cat", "1", "1", "10", "10"}});
    r.split("trainval", "000005\n000006\n");
    r.split("val", "000005\n");
    const std::string names = studio::test::write_text(d, "names.txt", "dog\nperson\n");
    VocOptions o = options_for({r.path}, "val");
    o.names_file = names;
    const Dataset ds = read_voc(o);
    QCOMPARE(ds.categories.size(), std::size_t(2));
    QCOMPARE(ds.categories[0].name, std::string("dog"));
    QCOMPARE(ds.categories[1].name, std::string("person"));
    QCOMPARE(ds.annotations[0].category_id, std::int64_t(2));
    QCOMPARE(ds.annotations[1].category_id, std::int64_t(1));

    const auto before = studio::test::folder_bytes(d.path().toStdString());
    o.split = "trainval";
    const std::string listed = "the names file " + names + " lists dog, person";  // outlives the macro's list
    STUDIO_EXPECT_ERROR((void)read_voc(o), "000006.xml:21: <object>/<name>: unknown class 'cat'",
                        listed.c_str());
    // The names file wins over standard_classes: 'cat' is a VOC class but not listed.
    o.standard_classes = true;
    STUDIO_EXPECT_ERROR((void)read_voc(o), "000006.xml:21:", "unknown class 'cat'");
    QVERIFY(studio::test::folder_bytes(d.path().toStdString()) == before);
  }

  // Each image remembers its XML file and each box its <object>'s line, for the checker.
  void records_source_lines() {
    const Dataset ds = read_voc(options_for({voc07_}, "test"));
    QCOMPARE(ds.images.size(), std::size_t(1));
    QCOMPARE(ds.images[0].source_file, voc07_ + "/Annotations/000002.xml");
    QCOMPARE(ds.images[0].source_line, 1L);
    QCOMPARE(ds.annotations[0].source_line, 9L);
    const Dataset two = read_voc(options_for({voc07_}));
    QCOMPARE(two.annotations[1].source_line, 20L);  // the second <object> of 000001.xml
  }

  void error_malformed_xml() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.split("trainval", "000005\n");
    r.write("Annotations/000005.xml", "<annotation>\n  <size>\n    <width>4</width>\n  </sise>\n</annotation>\n");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "VOC2007/Annotations/000005.xml:4: malformed XML");
    r.write("Annotations/000005.xml", "");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.xml", "malformed XML");
  }

  void error_missing_split() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path}, "val")), "VOC2007/ImageSets/Main/val.txt",
                        "split file not found");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path + "/nope"})), "nope", "VOC root folder not found");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({})), "no root");
  }

  void error_missing_xml() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.add("000005", 40, 30, {});
    r.split("trainval", "000005\n000009\n");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "ImageSets/Main/trainval.txt:2: image '000009'",
                        "VOC2007/Annotations/000009.xml does not exist");
    // An id longer than a file name may be: missing too (std::filesystem threw before), and so is a
    // root or split name of that length.
    r.split("trainval", "000005\n" + std::string(300, '7') + "\n");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "trainval.txt:2: image '7777",
                        "does not exist");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path}, std::string(300, 's'))),
                        "ssss.txt: split file not found");
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path + "/" + std::string(300, 'r')})),
                        "VOC root folder not found");
  }

  void error_bad_mask() {
    QTemporaryDir d;
    const VocRoot r(d, "VOC2007");
    r.add("000005", 8, 6, {{"dog", "1", "1", "4", "4"}});
    r.split("trainval", "000005\n");
    const std::string png = r.path + "/SegmentationObject/000005.png";
    studio::test::write_index_png(png, paint(8, 5, {}), 8, 5, true);
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "SegmentationObject/000005.png", "mask is 8x5",
                        "image size 8x6");
    studio::test::write_index_png(png, paint(8, 6, {{0, 0, 2, 2, 1}, {4, 4, 5, 5, 3}}), 8, 6, true);
    STUDIO_EXPECT_ERROR((void)read_voc(options_for({r.path})), "000005.png", "pixel value 3", "has 1 <object>");
    // Without masks asked for, the file is not read at all.
    VocOptions o = options_for({r.path});
    o.load_masks = false;
    QCOMPARE(read_voc(o).annotations.size(), std::size_t(1));
  }
};

QTEST_APPLESS_MAIN(TestVocReader)
#include "test_voc_reader.moc"
