// Dataset specs: the one-token forms, dataset YAML files (valid, unknown keys, bad values,
// relative paths) and load_dataset dispatching to the COCO, VOC and TXT readers.
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include "common/error.h"
#include "data/dataset_spec.h"
#include "data/image_io.h"
#include "test_support.h"

using namespace studio;
using studio::test::write_text;

class TestDatasetSpec : public QObject {
  Q_OBJECT

 private slots:
  void tokens() {
    DatasetSpec s = parse_dataset_token("coco:ann/instances_val2017.json:images/val2017");
    QCOMPARE(s.format, DatasetFormat::Coco);
    QCOMPARE(s.annotations, std::string("ann/instances_val2017.json"));
    QCOMPARE(s.images, std::string("images/val2017"));
    QCOMPARE(s.describe(), std::string("coco:ann/instances_val2017.json:images/val2017"));

    s = parse_dataset_token("voc:data/VOC2007+data/VOC2012:trainval");
    QCOMPARE(s.format, DatasetFormat::Voc);
    QCOMPARE(s.roots, (std::vector<std::string>{"data/VOC2007", "data/VOC2012"}));
    QCOMPARE(s.split, std::string("trainval"));
    QVERIFY(s.voc_standard_classes);
    QCOMPARE(s.describe(), std::string("voc:data/VOC2007+data/VOC2012:trainval"));
    s = parse_dataset_token("voc:/abs/VOC2007:test");
    QCOMPARE(s.roots, (std::vector<std::string>{"/abs/VOC2007"}));
    QCOMPARE(s.split, std::string("test"));

    s = parse_dataset_token("txt:train.txt:/data/images");
    QCOMPARE(s.format, DatasetFormat::Txt);
    QCOMPARE(s.annotations, std::string("train.txt"));
    QCOMPARE(s.images, std::string("/data/images"));
    QVERIFY(s.names.empty());
    QCOMPARE(s.describe(), std::string("txt:train.txt:/data/images"));
    s = parse_dataset_token("TXT:train.txt:imgs:voc.names");
    QCOMPARE(s.names, std::string("voc.names"));
    QCOMPARE(s.describe(), std::string("txt:train.txt:imgs:voc.names"));
  }

  void token_errors_data() {
    QTest::addColumn<QString>("token");
    QTest::addColumn<QString>("expected");
    QTest::newRow("empty") << "" << "empty dataset";
    QTest::newRow("coco without images") << "coco:ann.json" << "coco takes an annotation file and an image folder";
    QTest::newRow("coco too many") << "coco:a.json:b:c" << "coco takes";
    QTest::newRow("coco empty part") << "coco::images" << "part 2 is empty";
    QTest::newRow("voc without split") << "voc:VOC2007" << "voc takes one or more roots";
    QTest::newRow("voc empty root") << "voc:VOC2007++VOC2012:trainval" << "empty VOC root";
    QTest::newRow("txt one part") << "txt:list.txt" << "txt takes a list file";
    QTest::newRow("txt five parts") << "txt:a:b:c:d" << "txt takes";
    QTest::newRow("unknown format") << "yolo:data.yaml:x" << "unknown format 'yolo'";
    QTest::newRow("plain path") << "instances.json" << "unknown format 'instances.json'";
    QTest::newRow("missing yaml") << "/no/such/dataset.yaml" << "/no/such/dataset.yaml: dataset YAML file not found";
  }
  void token_errors() {
    QFETCH(QString, token);
    QFETCH(QString, expected);
    const std::string want = expected.toStdString();
    // Every form error also lists the accepted forms (except a named YAML file that is missing).
    const char* forms = token.endsWith(".yaml") ? "" : "voc:ROOT[+ROOT...]:SPLIT";
    STUDIO_EXPECT_ERROR((void)parse_dataset_token(token.toStdString()), want.c_str(), forms);
  }

  void yaml_files() {
    QTemporaryDir dir;
    QDir(dir.path()).mkpath("sets");
    const std::string base = dir.filePath("sets").toStdString();
    // Relative paths are taken from the YAML's folder; absolute ones are kept.
    std::string path = write_text(dir, "sets/coco.yaml",
                                  "format: coco\nannotations: ann/val.json\nimages: /data/coco/val2017\n");
    DatasetSpec s = load_dataset_yaml(path);
    QCOMPARE(s.format, DatasetFormat::Coco);
    QCOMPARE(s.annotations, base + "/ann/val.json");
    QCOMPARE(s.images, std::string("/data/coco/val2017"));
    // The same file through the one-token entry point.
    s = parse_dataset_token(path);
    QCOMPARE(s.annotations, base + "/ann/val.json");

    path = write_text(dir, "sets/voc.yml",
                      "# VOC07+12 as SSD recipes train on it\nformat: voc\nroots:\n  - VOC2007\n  - ../VOC2012\n"
                      "split: trainval\nstandard_classes: false\n");
    s = parse_dataset_token(path);
    QCOMPARE(s.format, DatasetFormat::Voc);
    QCOMPARE(s.roots, (std::vector<std::string>{base + "/VOC2007", base + "/../VOC2012"}));
    QCOMPARE(s.split, std::string("trainval"));
    QVERIFY(!s.voc_standard_classes);

    path = write_text(dir, "sets/voc1.yaml", "format: VOC\nroots: VOC2007\n");
    s = load_dataset_yaml(path);
    QCOMPARE(s.roots, (std::vector<std::string>{base + "/VOC2007"}));
    QCOMPARE(s.split, std::string("trainval"));
    QVERIFY(s.voc_standard_classes);

    path = write_text(dir, "sets/txt.yaml", "format: txt\nannotations: train.txt\nimages: imgs\nnames: voc.names\n");
    s = load_dataset_yaml(path);
    QCOMPARE(s.format, DatasetFormat::Txt);
    QCOMPARE(s.annotations, base + "/train.txt");
    QCOMPARE(s.images, base + "/imgs");
    QCOMPARE(s.names, base + "/voc.names");
  }

  void yaml_errors_data() {
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("expected");
    QTest::newRow("unknown key") << "format: coco\nannotations: a.json\nimage: imgs\n"
                                 << "d.yaml:3: unknown key 'image' (allowed: format, annotations, images, names, roots, "
                                    "split, standard_classes, outside_paths)";
    QTest::newRow("bad format") << "format: yolo\n" << "d.yaml:1: format: 'yolo' is not allowed (allowed: coco, voc, txt)";
    QTest::newRow("format not a string") << "format: [coco]\n" << "d.yaml:1: format:";
    QTest::newRow("missing format") << "annotations: a.json\n" << "d.yaml:1: format: missing (allowed: coco, voc, txt)";
    QTest::newRow("missing required") << "format: coco\nannotations: a.json\n"
                                      << "d.yaml:1: images: missing (format coco needs: annotations, images)";
    QTest::newRow("key of another format") << "format: coco\nannotations: a.json\nimages: i\nsplit: val\n"
                                           << "d.yaml:4: key 'split' is not used by format coco (coco takes: "
                                              "annotations, images, outside_paths)";
    QTest::newRow("bad bool") << "format: voc\nroots: [a]\nstandard_classes: maybe\n"
                              << "d.yaml:3: standard_classes: expected true or false, got 'maybe'";
    QTest::newRow("names and standard_classes")
        << "format: voc\nroots: [a]\nnames: n.txt\nstandard_classes: true\n"
        << "d.yaml:4: standard_classes: not used with names";
    QTest::newRow("empty roots") << "format: voc\nroots: []\n" << "d.yaml:2: roots: expected at least one VOC root";
    QTest::newRow("roots a map") << "format: voc\nroots: {a: 1}\n" << "d.yaml:2: roots: expected a folder or a list";
    QTest::newRow("root not a string") << "format: voc\nroots:\n  - a\n  - [b]\n"
                                       << "d.yaml:4: roots[1]: expected a non-empty path";
    QTest::newRow("empty path") << "format: txt\nannotations:\nimages: i\n" << "d.yaml:2: annotations: expected a non-empty path";
    QTest::newRow("not a mapping") << "- format\n- coco\n" << "d.yaml:1: expected a mapping with the keys format";
    QTest::newRow("malformed yaml") << "format: coco\nannotations: [a.json\nimages: i\n" << "malformed YAML";
    QTest::newRow("key twice") << "format: coco\nannotations: a.json\nimages: i\nannotations: b.json\n"
                               << "d.yaml:4: annotations: the key appears twice in one mapping (first at line 2)";
    QTest::newRow("alias cycle") << "format: voc\nroots: &r\n  - a\n  - *r\n" << "roots[1]: an alias refers to a node that contains it";
  }
  void yaml_errors() {
    QFETCH(QString, content);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string path = write_text(dir, "d.yaml", content.toStdString());
    const std::string want = expected.toStdString();
    STUDIO_EXPECT_ERROR((void)load_dataset_yaml(path), want.c_str());
    STUDIO_EXPECT_ERROR((void)parse_dataset_token(path), want.c_str());
  }

  void yaml_missing_file() {
    STUDIO_EXPECT_ERROR((void)load_dataset_yaml("/no/such/d.yaml"), "/no/such/d.yaml: cannot open dataset YAML");
    // A name longer than the file system allows is not found (std::filesystem threw before).
    const std::string too_long = std::string(300, 'd') + ".yaml";
    STUDIO_EXPECT_ERROR((void)parse_dataset_token(too_long), "dddd.yaml: dataset YAML file not found");
  }

  // load_dataset reaches each reader; paths from a YAML work from any working directory.
  void load_each_format() {
    QTemporaryDir dir;
    QDir d(dir.path());
    for (const char* sub : {"VOC2007/Annotations", "VOC2007/ImageSets/Main", "VOC2007/JPEGImages", "imgs"}) d.mkpath(sub);
    write_text(dir, "VOC2007/Annotations/000001.xml",
               "<annotation><size><width>8</width><height>6</height></size><object><name>cat</name>"
               "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>3</ymax></bndbox></object></annotation>");
    write_text(dir, "VOC2007/ImageSets/Main/val.txt", "000001\n");
    const std::string yaml = write_text(dir, "voc.yaml", "format: voc\nroots: [VOC2007]\nsplit: val\n");
    Dataset ds = load_dataset(parse_dataset_token(yaml));
    QCOMPARE(ds.format, DatasetFormat::Voc);
    QCOMPARE(ds.images.size(), std::size_t(1));
    QCOMPARE(ds.annotations.size(), std::size_t(1));
    QCOMPARE(ds.annotations[0].bbox, (std::array<double, 4>{0, 0, 4, 3}));

    std::vector<std::uint8_t> rgb(5 * 4 * 3, 0);
    write_rgb_image(dir.filePath("imgs/a.png").toStdString(), rgb.data(), 5, 4);
    const std::string list = write_text(dir, "list.txt", "a.png 0,0,2,2,1\n");
    const std::string names = write_text(dir, "names.txt", "cat\ndog\n");
    ds = load_dataset(parse_dataset_token("txt:" + list + ":" + dir.filePath("imgs").toStdString() + ":" + names));
    QCOMPARE(ds.format, DatasetFormat::Txt);
    QCOMPARE(ds.images[0].width, 5);
    QCOMPARE(ds.categories[1].name, std::string("dog"));

    const std::string json = write_text(
        dir, "ann.json",
        R"({"images":[{"id":7,"file_name":"a.png","width":5,"height":4}],)"
        R"("categories":[{"id":3,"name":"cat"}],)"
        R"("annotations":[{"id":1,"image_id":7,"category_id":3,"bbox":[0,0,2,2],"area":4,"iscrowd":0}]})");
    ds = load_dataset(parse_dataset_token("coco:" + json + ":" + dir.filePath("imgs").toStdString()));
    QCOMPARE(ds.format, DatasetFormat::Coco);
    QCOMPARE(ds.images.size(), std::size_t(1));
    QCOMPARE(ds.images[0].id, std::int64_t(7));
    QCOMPARE(ds.image_root, dir.filePath("imgs").toStdString());

    // Reader errors pass through unchanged, naming the reader's file.
    STUDIO_EXPECT_ERROR((void)load_dataset(parse_dataset_token("voc:" + dir.filePath("VOC2007").toStdString() + ":test")),
                        "ImageSets/Main/test.txt", "split file not found");
  }

  // outside_paths: refuse turns the checker's path_outside_image_folder into an error naming the
  // list line; allow (the default) reads the dataset.
  void outside_paths_refused() {
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath("imgs"));
    std::vector<std::uint8_t> rgb(5 * 4 * 3, 0);
    write_rgb_image(dir.filePath("imgs/a.png").toStdString(), rgb.data(), 5, 4);
    write_rgb_image(dir.filePath("b.png").toStdString(), rgb.data(), 5, 4);
    write_text(dir, "list.txt", "a.png 0,0,2,2,0\n../b.png 0,0,2,2,0\n");
    const std::string allow = write_text(dir, "allow.yaml", "format: txt\nannotations: list.txt\nimages: imgs\n");
    QVERIFY(!parse_dataset_token(allow).refuse_outside_paths);
    QCOMPARE(load_dataset(parse_dataset_token(allow)).images.size(), std::size_t(2));
    const std::string refuse =
        write_text(dir, "refuse.yaml", "format: txt\nannotations: list.txt\nimages: imgs\noutside_paths: refuse\n");
    QVERIFY(parse_dataset_token(refuse).refuse_outside_paths);
    STUDIO_EXPECT_ERROR((void)load_dataset(parse_dataset_token(refuse)), "list.txt:2", "file_name '../b.png' climbs out with ..",
                        "outside_paths: refuse");
    const std::string bad =
        write_text(dir, "bad.yaml", "format: coco\nannotations: a.json\nimages: i\noutside_paths: maybe\n");
    STUDIO_EXPECT_ERROR((void)load_dataset_yaml(bad), "bad.yaml:4", "outside_paths", "expected allow or refuse", "'maybe'");
  }

  // A VOC mapping (a dataset YAML, or data.train in a recipe) may list the classes in a names
  // file; an object outside them is the reader's error naming the XML file and line.
  void voc_names_from_yaml() {
    QTemporaryDir dir;
    QDir(dir.path()).mkpath("VOC/Annotations");
    QDir(dir.path()).mkpath("VOC/ImageSets/Main");
    const std::string xml = write_text(dir, "VOC/Annotations/a.xml",
                                       "<annotation>\n<size><width>8</width><height>6</height></size>\n"
                                       "<object>\n<name>cat</name>\n<bndbox><xmin>1</xmin><ymin>1</ymin>"
                                       "<xmax>4</xmax><ymax>3</ymax></bndbox></object>\n</annotation>\n");
    write_text(dir, "VOC/ImageSets/Main/train.txt", "a\n");
    write_text(dir, "classes.txt", "dog\ncat\n");
    write_text(dir, "only_dog.txt", "dog\n");
    const std::string ok =
        write_text(dir, "ok.yaml", "format: voc\nroots: VOC\nsplit: train\nnames: classes.txt\n");
    const DatasetSpec spec = load_dataset_yaml(ok);
    QCOMPARE(spec.names, dir.filePath("classes.txt").toStdString());
    const Dataset ds = load_dataset(spec);
    QCOMPARE(ds.categories.size(), std::size_t(2));
    QCOMPARE(ds.annotations[0].category_id, std::int64_t(2));
    const std::string bad =
        write_text(dir, "bad.yaml", "format: voc\nroots: VOC\nsplit: train\nnames: only_dog.txt\n");
    const std::string want = xml + ":4: <object>/<name>: unknown class 'cat'";  // outlives the macro's list
    STUDIO_EXPECT_ERROR((void)load_dataset(load_dataset_yaml(bad)), want.c_str(), "only_dog.txt lists dog");
  }

  void load_incomplete_specs() {
    DatasetSpec s;
    s.format = DatasetFormat::Coco;
    STUDIO_EXPECT_ERROR((void)load_dataset(s), "dataset coco: no annotation file given");
    s.format = DatasetFormat::Voc;
    STUDIO_EXPECT_ERROR((void)load_dataset(s), "dataset voc: no VOC root given");
    s.format = DatasetFormat::Synthetic;
    STUDIO_EXPECT_ERROR((void)load_dataset(s), "synthetic dataset is generated");
  }
};

QTEST_APPLESS_MAIN(TestDatasetSpec)
#include "test_dataset_spec.moc"
