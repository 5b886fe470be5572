// The VOC folder and TXT list writers, through the shapes generator's --format: the written files
// read back (with our readers) to the same images, classes and boxes as the COCO-format set of the
// same seed, and the files are what each format's users expect (VOC's 1-based corners).
#include <QtTest>
#include <QTemporaryDir>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "data/dataset_writers.h"
#include "data/shapes_generator.h"
#include "data/txt_reader.h"
#include "data/voc_reader.h"
#include "test_support.h"

using namespace studio;

namespace {

Dataset generate(const std::string& dir, ShapesFormat format) {
  ShapesOptions o;
  o.out_dir = dir;
  o.images = 6;
  o.seed = 7;
  o.size = 96;
  o.format = format;
  o.split = "val";
  return generate_shapes(o);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Same images (in order, by file stem and size), same classes, same boxes and class names.
void compare_boxes(const Dataset& read, const Dataset& coco) {
  QCOMPARE(read.images.size(), coco.images.size());
  QCOMPARE(read.annotations.size(), coco.annotations.size());
  QCOMPARE(read.categories.size(), coco.categories.size());
  for (std::size_t i = 0; i < coco.categories.size(); ++i)
    QCOMPARE(read.categories[i].name, coco.categories[i].name);
  for (std::size_t i = 0; i < coco.images.size(); ++i) {
    QCOMPARE(std::filesystem::path(read.images[i].file_name).filename().string(), coco.images[i].file_name);
    QCOMPARE(read.images[i].width, coco.images[i].width);
    QCOMPARE(read.images[i].height, coco.images[i].height);
  }
  for (std::size_t i = 0; i < coco.annotations.size(); ++i) {
    const Annotation& a = read.annotations[i];
    const Annotation& b = coco.annotations[i];
    QCOMPARE(a.bbox, b.bbox);
    QCOMPARE(read.category_by_id(a.category_id)->name, coco.category_by_id(b.category_id)->name);
    QVERIFY(!a.has_mask());
  }
}

}  // namespace

class TestDatasetWriters : public QObject {
  Q_OBJECT

 private slots:
  void voc_folder_reads_back() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    Dataset coco = generate(root + "/coco", ShapesFormat::Coco);
    coco.index();
    generate(root + "/voc", ShapesFormat::Voc);
    QVERIFY(std::filesystem::is_regular_file(root + "/voc/JPEGImages/000001.jpg"));
    QCOMPARE(slurp(root + "/voc/ImageSets/Main/val.txt"), std::string("000001\n000002\n000003\n000004\n000005\n000006\n"));
    VocOptions vo;
    vo.roots = {root + "/voc"};
    vo.split = "val";
    vo.names_file = root + "/voc/names.txt";
    Dataset voc = read_voc(vo);
    voc.index();
    compare_boxes(voc, coco);
    // VOC's corners: xmin = x + 1, xmax = x + w (1-based, inclusive).
    const Annotation& a = coco.annotations.front();
    const std::string xml = slurp(root + "/voc/Annotations/000001.xml");
    QVERIFY2(xml.find("<xmin>" + std::to_string(long(a.bbox[0]) + 1) + "</xmin>") != std::string::npos, xml.c_str());
    QVERIFY(xml.find("<xmax>" + std::to_string(long(a.bbox[0] + a.bbox[2])) + "</xmax>") != std::string::npos);
    QVERIFY(xml.find("<difficult>0</difficult>") != std::string::npos);
    QCOMPARE(slurp(root + "/voc/names.txt"), std::string("circle\nsquare\ntriangle\nstar\nhexagon\n"));
  }

  void txt_list_reads_back() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    Dataset coco = generate(root + "/coco", ShapesFormat::Coco);
    coco.index();
    generate(root + "/txt", ShapesFormat::Txt);
    Dataset txt = read_txt(root + "/txt/val.txt", root + "/txt/images", root + "/txt/names.txt");
    txt.index();
    compare_boxes(txt, coco);
    // The first line: the file, then x1,y1,x2,y2,cls with x2 = x + w and cls 0-based.
    const Annotation& a = coco.annotations.front();
    const std::string first = slurp(root + "/txt/val.txt").substr(0, slurp(root + "/txt/val.txt").find('\n'));
    const std::string box = std::to_string(long(a.bbox[0])) + "," + std::to_string(long(a.bbox[1])) + "," +
                            std::to_string(long(a.bbox[0] + a.bbox[2])) + "," +
                            std::to_string(long(a.bbox[1] + a.bbox[3])) + "," +
                            std::to_string(coco.category_index(a.category_id));
    QVERIFY2(first.rfind("000001.jpg " + box, 0) == 0, first.c_str());
  }

  void bad_split_and_names_are_errors() {
    QTemporaryDir dir;
    ShapesOptions o;
    o.out_dir = dir.path().toStdString() + "/x";
    o.format = ShapesFormat::Txt;
    o.split = "../escape";
    STUDIO_EXPECT_ERROR(generate_shapes(o), "--split", "../escape");
    Dataset ds;
    ds.categories.push_back({1, "two\nlines", ""});
    STUDIO_EXPECT_ERROR(write_txt_list(ds, o.out_dir + "/l.txt", o.out_dir + "/n.txt"), "category id 1", "one non-empty line");
  }
};

QTEST_APPLESS_MAIN(TestDatasetWriters)
#include "test_dataset_writers.moc"
