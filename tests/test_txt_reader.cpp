// TXT list reader: boxes and classes, names file, sizes probed from real image files written by
// the test, and malformed lines named by file:line and token.
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>

#include "common/error.h"
#include "data/class_names.h"
#include "data/image_io.h"
#include "data/txt_reader.h"
#include "test_support.h"

using namespace studio;
using studio::test::write_text;

namespace {

void write_image(const QTemporaryDir& dir, const std::string& name, int w, int h) {
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3, 200);
  write_rgb_image(dir.filePath(QString::fromStdString(name)).toStdString(), rgb.data(), w, h);
}

}  // namespace

class TestTxtReader : public QObject {
  Q_OBJECT

 private slots:
  void reads_list_with_names() {
    QTemporaryDir dir;
    QDir(dir.path()).mkpath("images/sub");
    write_image(dir, "images/a.jpg", 32, 24);
    write_image(dir, "images/sub/b.png", 17, 11);
    const std::string images = dir.filePath("images").toStdString();
    const std::string names = write_text(dir, "names.txt", "person\r\ncar\n dog \n\n\n");
    const std::string list = write_text(dir, "list.txt",
                                        "# SSD training list\n"
                                        "a.jpg 1,2,11,22,0 0.5,0,31.5,24,2\n"
                                        "\n"
                                        "   \t\n"
                                        "sub/b.png\t3,4,5,6,1\r\n"
                                        "missing.jpg\n");
    const Dataset ds = read_txt(list, images, names);
    QCOMPARE(ds.format, DatasetFormat::Txt);
    QCOMPARE(ds.image_root, images);
    QCOMPARE(ds.source, "txt:" + list);

    QCOMPARE(ds.categories.size(), std::size_t(3));
    const char* want_names[] = {"person", "car", "dog"};
    for (std::size_t k = 0; k < 3; ++k) {
      QCOMPARE(ds.categories[k].id, std::int64_t(k + 1));
      QCOMPARE(ds.categories[k].name, std::string(want_names[k]));
    }

    QCOMPARE(ds.images.size(), std::size_t(3));
    QCOMPARE(ds.images[0].file_name, std::string("a.jpg"));
    QCOMPARE(ds.images[0].width, 32);
    QCOMPARE(ds.images[0].height, 24);
    QCOMPARE(ds.images[1].file_name, std::string("sub/b.png"));
    QCOMPARE(ds.images[1].width, 17);
    QCOMPARE(ds.images[1].height, 11);
    // A missing image keeps 0 x 0 for the checker to report.
    QCOMPARE(ds.images[2].width, 0);
    QCOMPARE(ds.images[2].height, 0);
    for (std::size_t i = 0; i < 3; ++i) QCOMPARE(ds.images[i].id, std::int64_t(i + 1));

    QCOMPARE(ds.annotations.size(), std::size_t(3));
    // x2, y2 exclusive: [x1, y1, x2 - x1, y2 - y1].
    QCOMPARE(ds.annotations[0].bbox, (std::array<double, 4>{1, 2, 10, 20}));
    QCOMPARE(ds.annotations[0].area, 200.0);
    QCOMPARE(ds.annotations[0].category_id, std::int64_t(1));
    QCOMPARE(ds.annotations[1].bbox, (std::array<double, 4>{0.5, 0, 31, 24}));
    QCOMPARE(ds.annotations[1].category_id, std::int64_t(3));
    QCOMPARE(ds.annotations[2].bbox, (std::array<double, 4>{3, 4, 2, 2}));
    QCOMPARE(ds.annotations[2].category_id, std::int64_t(2));
    const std::int64_t image_of[] = {1, 1, 2};
    for (std::size_t k = 0; k < 3; ++k) {
      QCOMPARE(ds.annotations[k].id, std::int64_t(k + 1));
      QCOMPARE(ds.annotations[k].image_id, image_of[k]);
      QVERIFY(!ds.annotations[k].has_mask());
    }
    QCOMPARE(ds.annotations_of(3).size(), std::size_t(0));
  }

  // Without a names file the classes are class_0 .. class_<highest index used>.
  void reads_list_without_names() {
    QTemporaryDir dir;
    write_image(dir, "x.bmp", 9, 8);
    const std::string list = write_text(dir, "list.txt", "x.bmp 0,0,4,4,3 1,1,2,2,0");
    const Dataset ds = read_txt(list, dir.path().toStdString());
    QCOMPARE(ds.categories.size(), std::size_t(4));
    QCOMPARE(ds.categories[0].name, std::string("class_0"));
    QCOMPARE(ds.categories[3].name, std::string("class_3"));
    QCOMPARE(ds.categories[3].id, std::int64_t(4));
    QCOMPARE(ds.annotations[0].category_id, std::int64_t(4));
    QCOMPARE(ds.images[0].width, 9);
    QCOMPARE(ds.images[0].height, 8);
  }

  void empty_list() {
    QTemporaryDir dir;
    const std::string list = write_text(dir, "list.txt", "# nothing yet\n\n");
    const Dataset ds = read_txt(list, dir.path().toStdString());
    QVERIFY(ds.images.empty());
    QVERIFY(ds.categories.empty());
  }

  void malformed_lines_data() {
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("expected");
    QTest::newRow("too few fields") << "a.jpg 1,2,3,4,0\n\nb.jpg 1,2,3,4,0 10,20,30"
                                    << "list.txt:3: token 3 '10,20,30': expected x1,y1,x2,y2,cls";
    QTest::newRow("too many fields") << "a.jpg 1,2,3,4,0,5" << "list.txt:1: token 2 '1,2,3,4,0,5': expected x1,y1,x2,y2,cls";
    QTest::newRow("non-numeric corner") << "# c\na.jpg 1,y,3,4,0" << "list.txt:2: token 2 '1,y,3,4,0': expected x1,y1,x2,y2,cls";
    QTest::newRow("empty field") << "a.jpg 1,,3,4,0" << "list.txt:1: token 2 '1,,3,4,0'";
    QTest::newRow("negative class")
        << "a.jpg 1,2,3,4,-1"
        << "list.txt:1: token 2 '1,2,3,4,-1': expected x1,y1,x2,y2,cls with cls a class index";
    QTest::newRow("fractional class")
        << "a.jpg 1,2,3,4,1.5"
        << "list.txt:1: token 2 '1,2,3,4,1.5': expected x1,y1,x2,y2,cls with cls a class index";
    QTest::newRow("swapped corners") << "a.jpg 5,2,3,4,0" << "list.txt:1: token 2 '5,2,3,4,0': x2,y2 must not be less";
    QTest::newRow("space after comma") << "a.jpg 1, 2,3,4,0" << "list.txt:1: token 2 '1,'";
  }
  void malformed_lines() {
    QFETCH(QString, content);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const std::string list = write_text(dir, "list.txt", content.toStdString());
    const std::string want = expected.toStdString();  // outlives the macro's list of fragments
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString()), want.c_str());
  }

  void class_beyond_names() {
    QTemporaryDir dir;
    const std::string names = write_text(dir, "names.txt", "person\ncar\n");
    const std::string list = write_text(dir, "list.txt", "a.jpg 1,2,3,4,1\na.jpg 1,2,3,4,0 1,2,3,4,2\n");
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(), names), "list.txt:2: token 3 '1,2,3,4,2'",
                        "class 2 is beyond the names file", "2 names");
  }

  // Without a names file the classes are 0..(highest index), all made up: a huge index is refused
  // instead of making billions of categories (fuzz/findings/txt: 2.4 GB for one line) or adding 1
  // to INT64_MAX. The largest allowed index still reads, with every class below it.
  void huge_class_index_without_names() {
    QTemporaryDir dir;
    const std::string huge =
        write_text(dir, "huge.txt", "a.jpg 0,0,1,1,0\nb.jpg 0,0,1,1,2222222222202222222\n");
    STUDIO_EXPECT_ERROR((void)read_txt(huge, dir.path().toStdString()), "huge.txt:2: token 2",
                        "class 2222222222202222222 without a names file", "classes 0..99999");
    const std::string max = write_text(dir, "max.txt", "a.jpg 0,0,1,1,9223372036854775807\n");
    STUDIO_EXPECT_ERROR((void)read_txt(max, dir.path().toStdString()), "max.txt:1", "without a names file");
    const std::string most = write_text(dir, "most.txt", "a.jpg 0,0,1,1,99999\n");
    const Dataset ds = read_txt(most, dir.path().toStdString());
    QCOMPARE(ds.categories.size(), size_t(100000));
    QCOMPARE(ds.annotations[0].category_id, std::int64_t(100000));
  }

  // A class index past the names file is named by list file, line, token, index and the count
  // of names; the list, the names file and the images stay as they were.
  void class_beyond_names_changes_nothing() {
    QTemporaryDir dir;
    write_image(dir, "a.png", 16, 12);
    const std::string names = write_text(dir, "names.txt", "person\ncar\ndog\n");
    const std::string list =
        write_text(dir, "list.txt", "# boxes\na.png 1,2,3,4,2\n\na.png 1,2,3,4,0 5,5,9,9,3\n");
    const auto before = studio::test::folder_bytes(dir.path().toStdString());
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(), names),
                        "list.txt:4: token 3 '5,5,9,9,3'", "class 3 is beyond the names file", "names.txt",
                        "(3 names: classes 0..2)");
    STUDIO_EXPECT_ERROR(
        (void)read_txt(list, dir.path().toStdString(), write_text(dir, "two.txt", "a\nb\na\n")),
        "two.txt:3: class name 'a' is given again (first on line 1)");
    // A binary file, or text that is not UTF-8, is not taken for class names.
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(),
                                       write_text(dir, "bin.txt", std::string("person\ncar\x89PNG\0\x1a", 16))),
                        "bin.txt:2: not a text file of class names: byte 0x89 at offset 10");
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(), write_text(dir, "latin1.txt", "caf\xe9\n")),
                        "latin1.txt:1:", "byte 0xE9 at offset 3 is not UTF-8");
    QCOMPARE(read_class_names(write_text(dir, "utf8.txt", "caf\xc3\xa9\n\xe7\x8c\xab\r\n")),
             (std::vector<std::string>{"caf\xc3\xa9", "\xe7\x8c\xab"}));
    auto after = studio::test::folder_bytes(dir.path().toStdString());
    for (const char* written : {"two.txt", "bin.txt", "latin1.txt", "utf8.txt"}) after.erase(written);
    QVERIFY(before == after);
  }

  // Each image and box remembers its list line, so the checker can point at it.
  void records_source_lines() {
    QTemporaryDir dir;
    const std::string list =
        write_text(dir, "list.txt", "# header\na.jpg 1,2,3,4,0\n\nb.jpg\nc.jpg 0,0,1,1,1 2,2,3,3,0\n");
    const Dataset ds = read_txt(list, dir.path().toStdString());
    QCOMPARE(ds.images.size(), std::size_t(3));
    const long image_lines[] = {2, 4, 5};
    for (std::size_t i = 0; i < 3; ++i) {
      QCOMPARE(ds.images[i].source_file, list);
      QCOMPARE(ds.images[i].source_line, image_lines[i]);
    }
    QCOMPARE(ds.annotations.size(), std::size_t(3));
    const long box_lines[] = {2, 5, 5};
    for (std::size_t k = 0; k < 3; ++k) QCOMPARE(ds.annotations[k].source_line, box_lines[k]);
  }

  void bad_names_file() {
    QTemporaryDir dir;
    const std::string list = write_text(dir, "list.txt", "a.jpg 1,2,3,4,0\n");
    const std::string gap = write_text(dir, "gap.txt", "person\n\ncar\n");
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(), gap), "gap.txt:2: empty class name");
    const std::string empty = write_text(dir, "empty.txt", "\n\n");
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(), empty), "empty.txt", "no class names");
    STUDIO_EXPECT_ERROR((void)read_txt(list, dir.path().toStdString(), dir.filePath("nope.txt").toStdString()),
                        "nope.txt");
    STUDIO_EXPECT_ERROR((void)read_txt(dir.filePath("nolist.txt").toStdString(), dir.path().toStdString()),
                        "nolist.txt");
  }

  void progress_and_cancel() {
    QTemporaryDir dir;
    const std::string list = write_text(dir, "list.txt", "a.jpg\nb.jpg\nc.jpg\n");
    std::size_t last_done = 0, last_total = 0;
    Progress p;
    p.report = [&](std::size_t done, std::size_t total, const std::string&) {
      last_done = done;
      last_total = total;
    };
    (void)read_txt(list, dir.path().toStdString(), "", p);
    QCOMPARE(last_done, std::size_t(3));
    QCOMPARE(last_total, std::size_t(3));
    std::atomic<bool> cancel{true};
    p.cancel = &cancel;
    QVERIFY_THROWS_EXCEPTION(Cancelled, (void)read_txt(list, dir.path().toStdString(), "", p));
  }
};

QTEST_APPLESS_MAIN(TestTxtReader)
#include "test_txt_reader.moc"
