// COCO JSON reading and writing: every field of a small file, every kind of malformed input
// (the message must name the file, the line, the JSON path and what was expected), and the
// COCO -> COCO round trip.
#include <atomic>
#include <limits>
#include <cstring>
#include <random>

#include "common/error.h"
#include "data/coco_io.h"
#include "data/json_diagnose.h"
#include "data/json_split.h"
#include "test_support.h"

using studio::Annotation;
using studio::Dataset;

// Declared before the test data: moc does not understand raw string literals with escapes.
class TestCocoIo : public QObject {
  Q_OBJECT

 private slots:
  void reads_every_field();
  void malformed_data();
  void malformed();
  void missing_file();
  void diagnose_json_finds_the_first_problem();
  void round_trip_keeps_everything();
  void round_trip_exact_doubles();
  void non_finite_numbers_are_refused();
  void progress_and_cancel();
  void pieces_read_the_same();
  void split_finds_the_elements();
};

namespace {

// Annotations first, images last, extra fields everywhere, keys in unusual orders: all allowed.
// Line numbers matter for the error tests below.
const char* kSample = R"({"info": {"year": 2017, "description": "test"},
"licenses": [{"id": 1, "name": "x", "url": "http://x"}],
"annotations": [
{"segmentation": [[1.5, 2.25, 10, 2.25, 10, 8.75], [20, 20, 25, 20, 25, 28]], "area": 37.5, "iscrowd": 0, "image_id": 1, "bbox": [1.5, 2.25, 23.5, 25.75], "category_id": 3, "id": 100},
{"id": 101, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 3, "iscrowd": 0, "segmentation": {"counts": "032O1O;", "size": [5, 5]}, "extra": {"nested": [1, {"a": null}]}},
{"id": 102, "image_id": 2, "category_id": 1, "bbox": [0, 1, 2, 3], "area": 4.5, "iscrowd": 1, "segmentation": {"size": [3, 2], "counts": [1, 2, 1, 2]}},
{"id": 103, "image_id": 2, "category_id": 3, "bbox": [0.5, 0.5, 1, 2]},
{"id": 104, "image_id": 1, "category_id": 3, "bbox": [0, 0, 4, 4], "segmentation": [[0, 0, 4, 0, 0, 4]], "iscrowd": false, "attributes": {"occluded": true}}
],
"images": [
{"license": 1, "file_name": "a/000001.jpg", "coco_url": "http://images/1.jpg", "height": 5, "width": 5, "date_captured": "2013-11-14 11:18:45", "id": 1},
{"id": 2, "width": 2, "height": 3, "file_name": "b\/\"q\" \u00e9\t.png"}
],
"categories": [{"supercategory": "animal", "id": 1, "name": "cat"}, {"id": 3, "name": "dog", "keypoints": []}]
}
)";

// A valid file whose annotations are `ann_lines` (annotation i on line 8 + i), for error tests.
std::string with_annotations(const std::vector<std::string>& ann_lines) {
  std::string s =
      "{\n"                                                                          // 1
      "\"images\": [\n"                                                              // 2
      "{\"id\": 1, \"file_name\": \"a.jpg\", \"width\": 40, \"height\": 30},\n"      // 3
      "{\"id\": 2, \"file_name\": \"b.jpg\", \"width\": 20, \"height\": 10}\n"       // 4
      "],\n"                                                                         // 5
      "\"categories\": [{\"id\": 1, \"name\": \"cat\"}],\n"                          // 6
      "\"annotations\": [\n";                                                        // 7
  for (std::size_t i = 0; i < ann_lines.size(); ++i)
    s += ann_lines[i] + (i + 1 < ann_lines.size() ? ",\n" : "\n");
  s += "]}\n";
  return s;
}

const char* kGood = R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})";

// Reading in pieces however small the file: one element a piece.
studio::ReadOptions every_element_a_piece(int threads, bool* used) {
  studio::ReadOptions o;
  o.pieces_above = 0;
  o.piece_bytes = 1;
  o.threads = threads;
  o.read_in_pieces = used;
  return o;
}

studio::ReadOptions one_walk(bool* used) {
  studio::ReadOptions o;
  o.pieces_above = std::numeric_limits<std::size_t>::max();
  o.read_in_pieces = used;
  return o;
}

bool same_annotation(const Annotation& a, const Annotation& b) {
  return a.id == b.id && a.image_id == b.image_id && a.category_id == b.category_id && a.bbox == b.bbox &&
         a.polygons == b.polygons && a.rle == b.rle && a.area == b.area && a.iscrowd == b.iscrowd &&
         a.difficult == b.difficult && a.truncated == b.truncated;
}

void compare_datasets(const Dataset& a, const Dataset& b) {
  QCOMPARE(a.images.size(), b.images.size());
  for (std::size_t i = 0; i < a.images.size(); ++i) {
    QCOMPARE(a.images[i].id, b.images[i].id);
    QCOMPARE(a.images[i].file_name, b.images[i].file_name);
    QCOMPARE(a.images[i].width, b.images[i].width);
    QCOMPARE(a.images[i].height, b.images[i].height);
  }
  QCOMPARE(a.categories.size(), b.categories.size());
  for (std::size_t i = 0; i < a.categories.size(); ++i) {
    QCOMPARE(a.categories[i].id, b.categories[i].id);
    QCOMPARE(a.categories[i].name, b.categories[i].name);
    QCOMPARE(a.categories[i].supercategory, b.categories[i].supercategory);
  }
  QCOMPARE(a.annotations.size(), b.annotations.size());
  for (std::size_t i = 0; i < a.annotations.size(); ++i)
    QVERIFY2(same_annotation(a.annotations[i], b.annotations[i]), qPrintable(QString("annotation %1").arg(i)));
}

}  // namespace

void TestCocoIo::reads_every_field() {
  QTemporaryDir dir;
  const std::string path = studio::test::write_text(dir, "sample.json", kSample);
  const Dataset ds = studio::read_coco(path, "/data/images");
  QCOMPARE(ds.image_root, std::string("/data/images"));
  QCOMPARE(ds.format, studio::DatasetFormat::Coco);
  QVERIFY(studio::test::contains(ds.source, "sample.json"));

  QCOMPARE(ds.images.size(), std::size_t{2});
  QCOMPARE(ds.images[0].id, std::int64_t{1});
  QCOMPARE(ds.images[0].file_name, std::string("a/000001.jpg"));
  QCOMPARE(ds.images[0].width, 5);
  QCOMPARE(ds.images[0].height, 5);
  QCOMPARE(ds.images[1].file_name, std::string("b/\"q\" \xc3\xa9\t.png"));  // escapes decoded
  QCOMPARE(ds.images[1].width, 2);
  QCOMPARE(ds.images[1].height, 3);

  QCOMPARE(ds.categories.size(), std::size_t{2});
  QCOMPARE(ds.categories[0].id, std::int64_t{1});
  QCOMPARE(ds.categories[0].name, std::string("cat"));
  QCOMPARE(ds.categories[0].supercategory, std::string("animal"));
  QCOMPARE(ds.categories[1].id, std::int64_t{3});
  QCOMPARE(ds.categories[1].supercategory, std::string());

  QCOMPARE(ds.annotations.size(), std::size_t{5});
  const Annotation& poly = ds.annotations[0];
  QCOMPARE(poly.id, std::int64_t{100});
  QCOMPARE(poly.image_id, std::int64_t{1});
  QCOMPARE(poly.category_id, std::int64_t{3});
  QCOMPARE(poly.bbox, (std::array<double, 4>{1.5, 2.25, 23.5, 25.75}));
  QCOMPARE(poly.polygons.size(), std::size_t{2});
  QCOMPARE(poly.polygons[0], (std::vector<double>{1.5, 2.25, 10, 2.25, 10, 8.75}));
  QCOMPARE(poly.polygons[1], (std::vector<double>{20, 20, 25, 20, 25, 28}));
  QVERIFY(!poly.rle);
  QCOMPARE(poly.area, 37.5);
  QVERIFY(!poly.iscrowd);

  const Annotation& compressed = ds.annotations[1];
  QVERIFY(compressed.rle.has_value());
  QCOMPARE(*compressed.rle, (studio::Rle{5, 5, {0, 3, 2, 2, 3, 1, 14}}));
  QVERIFY(compressed.polygons.empty());
  QCOMPARE(compressed.area, 3.0);  // as given, even though the mask has 6 pixels

  const Annotation& crowd = ds.annotations[2];
  QVERIFY(crowd.iscrowd);
  QCOMPARE(*crowd.rle, (studio::Rle{3, 2, {1, 2, 1, 2}}));
  QCOMPARE(crowd.area, 4.5);

  const Annotation& box_only = ds.annotations[3];
  QVERIFY(!box_only.has_mask());
  QCOMPARE(box_only.area, 2.0);  // no area, no mask: the box's

  const Annotation& triangle = ds.annotations[4];
  QVERIFY(!triangle.iscrowd);
  QCOMPARE(triangle.area, 6.0);  // no area: the rasterised polygon's pixel count (see test_rle)

  // The lookups are ready.
  QCOMPARE(ds.image_by_id(2)->file_name, ds.images[1].file_name);
  QCOMPARE(ds.category_index(3), 1);
  QCOMPARE(ds.annotations_of(1).size(), std::size_t{3});
}

void TestCocoIo::malformed_data() {
  QTest::addColumn<std::string>("json");
  QTest::addColumn<std::string>("line");  // ":<line>:" or "" when no line applies
  QTest::addColumn<std::string>("path");
  QTest::addColumn<std::string>("what");
  auto row = [](const char* name, const std::string& json, const std::string& line, const std::string& path,
                const std::string& what) { QTest::newRow(name) << json << line << path << what; };
  const std::string g = kGood;
  // Annotation fields: annotation i sits on line 8 + i.
  row("bbox is a string", with_annotations({g, R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": "1,2,3,4"})"}),
      ":9:", "annotations[1].bbox", "expected an array of 4 numbers, got a string \"1,2,3,4\"");
  row("bbox too short", with_annotations({g, g, g, R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]})"}),
      ":11:", "annotations[3].bbox", "expected an array of 4 numbers, got 3");
  row("bbox too long", with_annotations({R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4, 5]})"}),
      ":8:", "annotations[0].bbox", "expected an array of 4 numbers, got more");
  row("bbox element", with_annotations({R"({"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 2, null, 4]})"}),
      ":8:", "annotations[0].bbox", "expected an array of 4 numbers, got null at [2]");
  row("missing bbox", with_annotations({g, R"({"id": 2, "image_id": 1, "category_id": 1})"}), ":9:",
      "annotations[1]", "missing required field \"bbox\"");
  row("missing id", with_annotations({R"({"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})"}), ":8:",
      "annotations[0]", "missing required field \"id\"");
  row("missing image_id", with_annotations({R"({"id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})"}), ":8:",
      "annotations[0]", "missing required field \"image_id\"");
  row("missing category_id", with_annotations({R"({"id": 1, "image_id": 1, "bbox": [1, 2, 3, 4]})"}), ":8:",
      "annotations[0]", "missing required field \"category_id\"");
  row("id is a string", with_annotations({R"({"id": "7", "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})"}),
      ":8:", "annotations[0].id", "expected an integer, got a string \"7\"");
  row("id is fractional", with_annotations({R"({"id": 1.5, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})"}),
      ":8:", "annotations[0].id", "expected an integer, got 1.5");
  row("area is a string", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": "big"})"}),
      ":8:", "annotations[0].area", "expected a number, got a string \"big\"");
  row("iscrowd 2", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 2})"}),
      ":8:", "annotations[0].iscrowd", "expected 0 or 1, got 2");
  row("segmentation is a number", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": 5})"}),
      ":8:", "annotations[0].segmentation", "expected a list of polygons or an RLE object, got 5");
  row("polygon not an array", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": [[1, 2, 3, 4, 5, 6], 7]})"}),
      ":8:", "annotations[0].segmentation[1]", "expected a polygon (an array of numbers x0,y0,x1,y1,...), got 7");
  row("polygon coordinate", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": [[1, 2, 3, "4", 5, 6]]})"}),
      ":8:", "annotations[0].segmentation[0]", "expected a number, got a string \"4\" at [3]");
  row("polygon odd", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": [[1, 2, 3, 4, 5]]})"}),
      ":8:", "annotations[0].segmentation[0]", "expected an even number of coordinates (x,y pairs), got 5");
  row("rle counts sum", with_annotations({g, R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 1, "segmentation": {"size": [10, 20], "counts": [5, 10, 5]}})"}),
      ":9:", "annotations[1].segmentation.counts", "RLE counts sum to 20, expected h*w = 200");
  row("rle string sum", with_annotations({R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"size": [10, 20], "counts": "032O1O;"}})"}),
      ":8:", "annotations[0].segmentation.counts", "RLE counts sum to 25, expected h*w = 200");
  row("rle string malformed", with_annotations({R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"size": [10, 20], "counts": "03 2"}})"}),
      ":8:", "annotations[0].segmentation.counts", "malformed RLE string");
  row("rle negative run", with_annotations({R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"size": [10, 20], "counts": [5, -10]}})"}),
      ":8:", "annotations[0].segmentation.counts", "expected run lengths (non-negative integers), got -10");
  row("rle size vs image", with_annotations({g, g, R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"size": [5, 5], "counts": "032O1O;"}})"}),
      ":10:", "annotations[2].segmentation.size", "expected [10, 20] (the size of image 2), got [5, 5]");
  row("rle size shape", with_annotations({R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"size": [10], "counts": ""}})"}),
      ":8:", "annotations[0].segmentation.size", "expected [height, width] (2 non-negative integers), got 1");
  row("rle missing size", with_annotations({R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"counts": "0"}})"}),
      ":8:", "annotations[0].segmentation", "missing required field \"size\"");
  row("rle counts type", with_annotations({R"({"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": {"size": [10, 20], "counts": 200}})"}),
      ":8:", "annotations[0].segmentation.counts", "expected a compressed RLE string or an array of run lengths, got 200");
  row("annotation not an object", with_annotations({g, "[1, 2]"}), ":9:", "annotations[1]",
      "expected an annotation object, got an array");
  // Images, categories, sections.
  row("image missing file_name", R"({"images": [
{"id": 1, "width": 4, "height": 4, "file_name": "a.jpg"},
{"id": 2, "width": 4, "height": 4}]})", ":3:", "images[1]", "missing required field \"file_name\"");
  row("image negative width", R"({"images": [
{"id": 1, "width": -4, "height": 4, "file_name": "a.jpg"}]})", ":2:", "images[0].width",
      "expected a non-negative integer, got -4");
  row("image width string", R"({"images": [{"id": 1, "width": "4", "height": 4, "file_name": "a.jpg"}]})", ":1:",
      "images[0].width", "expected a non-negative integer, got a string \"4\"");
  row("image file_name number", R"({"images": [{"id": 1, "width": 4, "height": 4, "file_name": 12}]})", ":1:",
      "images[0].file_name", "expected a string, got 12");
  row("images not an array", "{\n\"images\": {}}", ":2:", "images", "expected an array of images, got an object");
  row("category missing name", "{\"images\": [],\n\"categories\": [{\"id\": 1}]}", ":2:", "categories[0]",
      "missing required field \"name\"");
  row("category id string", "{\"images\": [],\n\"categories\": [{\"id\": \"a\", \"name\": \"x\"}]}", ":2:",
      "categories[0].id", "expected an integer, got a string \"a\"");
  row("no images", R"({"annotations": []})", "", "(top level)", "missing required field \"images\"");
  row("results file", R"([{"image_id": 1}])", ":1:", "(top level)", "expected an object with \"images\"");
  // Broken JSON.
  row("missing comma", with_annotations({g, R"({"id": 1 "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})"}),
      ":9:", "annotations[1]", "malformed JSON");
  row("trailing garbage", std::string(R"({"images": []})") + "\n\n}", ":3:", "(top level)",
      "expected the end of the file");
  const std::string truncated = with_annotations({g, g}).substr(0, 250);
  row("truncated", truncated, ":" + std::to_string(1 + std::count(truncated.begin(), truncated.end(), '\n')) + ":",
      "", "is not closed at the end of the file");
  row("unclosed string", R"({"images": [{"id": 1, "file_name": "a.jpg, "width": 4, "height": 4}]})", "", "",
      "malformed JSON");
  row("empty", "", "", "", "malformed JSON");
  // The cause named with its line and column (data/json_diagnose.h), not simdjson's error class.
  row("nan in bbox", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [NaN, 2, 3, 4]})"}),
      ":8:", "annotations[0].bbox", "malformed JSON at column 53 (byte");
  row("nan says why", with_annotations({R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [NaN, 2, 3, 4]})"}),
      ":8:", "", "NaN is not JSON");
  row("utf-8 bom", "\xEF\xBB\xBF{\"images\": []}", ":1:", "", "UTF-8 byte order mark");
  row("utf-16", std::string("\xFF\xFE{\0\"\0i\0\"\0:\0[\0]\0}\0", 18), ":1:", "", "UTF-16 (byte order mark FF FE)");
  row("data after the object", R"({"images": []} xyz)", ":1:", "", "column 16 (byte 15): data after the end of the JSON value");
  row("never closed", "{\"images\": [\n{\"id\": 1, \"width\": 4, \"height\": 4, \"file_name\": \"a.jpg\"}\n", ":3:", "",
      "the array opened at line 1, column 12 is not closed at the end of the file");
  row("wrong closing bracket", "{\"images\": [}\n", ":1:", "", "'}' closes the array opened at line 1, column 12");
  // Fields the model skips are still JSON the walk's parser checks (fuzz/findings/coco/): the
  // piece reader must not accept what the walk refuses.
  row("bad utf-8 in a skipped key", "{\"info\xff\": 1, \"images\": []}", "", "", "not valid UTF-8");
  row("control character in a skipped value", "{\"info\": \"a\x01b\", \"images\": []}", ":1:", "",
      "malformed JSON");
}

void TestCocoIo::malformed() {
  QFETCH(std::string, json);
  QFETCH(std::string, line);
  QFETCH(std::string, path);
  QFETCH(std::string, what);
  QTemporaryDir dir;
  const std::string file = studio::test::write_text(dir, "ann.json", json);
  const std::string file_line = "ann.json" + (line.empty() ? std::string(":") : line);
  STUDIO_EXPECT_ERROR((void)studio::read_coco(file, ""), file_line.c_str(), path.c_str(), what.c_str());
  // The same text parsed from memory names the given name instead of a file.
  STUDIO_EXPECT_ERROR((void)studio::parse_coco(json, "mem.json"), "mem.json", path.c_str(), what.c_str());
  // Read in pieces (one element a piece, two threads), the problem sends the file to the one walk,
  // whose message is the one above.
  bool pieces = true;
  STUDIO_EXPECT_ERROR((void)studio::read_coco(file, "", {}, every_element_a_piece(2, &pieces)), file_line.c_str(),
                      path.c_str(), what.c_str());
  QVERIFY(!pieces);
}

// The scanner accepts what RFC 8259 accepts and names the first problem otherwise, with its byte
// offset, line and column.
void TestCocoIo::diagnose_json_finds_the_first_problem() {
  for (const char* ok : {"{}", " [ ] ", "0", "-0.5e+3", "\"a\\u00e9\\n\"", "null", "{\"a\": [1, {\"b\": true}], \"c\": false}\n",
                         "[1.0E2, -3, \"\\\"\"]"})
    QVERIFY2(!studio::diagnose_json(ok).has_value(), ok);
  const auto problem = [](const std::string& text) {
    const auto p = studio::diagnose_json(text);
    return p ? std::to_string(p->line) + ":" + std::to_string(p->column) + " @" + std::to_string(p->offset) + " " + p->what
             : std::string("none");
  };
  const auto starts = [](const std::string& got, const std::string& want) {
    if (got.rfind(want, 0) != 0) qWarning("got: %s", got.c_str());
    return got.rfind(want, 0) == 0;
  };
  QVERIFY(starts(problem("{\"a\": 1,\n \"b\": 2 \"c\": 3}"), "2:9 @17 expected ',' or '}' in the object opened at line 1, column 1, got '\"'"));
  QVERIFY(starts(problem("[1, 2,]"), "1:7 @6 a comma before ']'"));
  QVERIFY(starts(problem("{\"a\": 1,}"), "1:9 @8 a comma before '}'"));
  QVERIFY(starts(problem("{\"a\" 1}"), "1:6 @5 expected ':' after the key, got '1'"));
  QVERIFY(starts(problem("{'a': 1}"), "1:2 @1 a key in single quotes"));
  QVERIFY(starts(problem("[01]"), "1:2 @1 a number with a leading zero"));
  QVERIFY(starts(problem("[1.]"), "1:4 @3 expected a digit after the decimal point"));
  QVERIFY(starts(problem("[-Infinity]"), "1:2 @1 -Infinity is not JSON"));
  QVERIFY(starts(problem("[tru]"), "1:2 @1 expected a value, got 't'"));
  QVERIFY(starts(problem("[\"a\nb\"]"), "1:4 @3 a control character (byte 0x0A) inside the string started at line 1, column 2"));
  QVERIFY(starts(problem("[\"\\x\"]"), "1:3 @2 an invalid escape \\x"));
  QVERIFY(starts(problem("[\"abc"), "1:6 @5 the string started at line 1, column 2 is not closed at the end of the file"));
  QVERIFY(starts(problem("{\"a\": [1, 2}"), "1:12 @11 '}' closes the array opened at line 1, column 7"));
  QVERIFY(starts(problem("{} {}"), "1:4 @3 data after the end of the JSON value (which ended at line 1, column 3)"));
  QVERIFY(starts(problem(" \n "), "2:2 @3 the file is empty"));
  QVERIFY(starts(problem(std::string("\0{\0}", 4)), "1:1 @0 the file starts with NUL bytes"));
  QVERIFY(starts(problem("\xFE\xFF\0{\0}"), "1:1 @0 the file is UTF-16 (byte order mark FE FF)"));
}

void TestCocoIo::missing_file() {
  STUDIO_EXPECT_ERROR((void)studio::read_coco("/nonexistent/ann.json", ""), "/nonexistent/ann.json",
                      "cannot read");
}

void TestCocoIo::round_trip_keeps_everything() {
  const Dataset a = studio::parse_coco(kSample, "sample.json");
  const std::string json = studio::to_coco_json(a);
  // COCO's conventions: a non-crowd RLE as a compressed string, a crowd one as runs.
  QVERIFY(studio::test::contains(json, R"("counts":"032O1O;")"));
  QVERIFY(studio::test::contains(json, R"("counts":[1,2,1,2])"));
  const Dataset b = studio::parse_coco(json, "written.json");
  compare_datasets(a, b);
  QCOMPARE(studio::to_coco_json(b), json);

  QTemporaryDir dir;
  const std::string path = dir.filePath("out.json").toStdString();
  studio::write_coco(a, path);
  compare_datasets(a, studio::read_coco(path, ""));
}

void TestCocoIo::round_trip_exact_doubles() {
  // Arbitrary doubles (any exponent, any digits) come back bit for bit.
  std::mt19937_64 rng(42);
  auto random_double = [&] {
    double d;
    do {
      const std::uint64_t bits = rng();
      std::memcpy(&d, &bits, sizeof d);
    } while (!std::isfinite(d));
    return d;
  };
  Dataset a;
  a.images.push_back({7, "x.jpg", 640, 480});
  a.categories.push_back({1, "thing", ""});
  for (int i = 0; i < 300; ++i) {
    Annotation ann;
    ann.id = std::int64_t{1} << 40 | i;
    ann.image_id = 7;
    ann.category_id = 1;
    for (double& d : ann.bbox) d = random_double();
    ann.area = i % 2 ? random_double() : std::uniform_real_distribution<double>(0, 1e5)(rng);
    ann.polygons.push_back({});
    for (int k = 0; k < 8; ++k)
      ann.polygons[0].push_back(k % 2 ? random_double() : std::round(rng() % 64000) / 100.0);
    ann.difficult = i % 3 == 0;
    ann.truncated = i % 5 == 0;
    a.annotations.push_back(std::move(ann));
  }
  // Values at the edges of the two printing paths (two decimals, shortest digits).
  Annotation edge;
  edge.id = 1;
  edge.image_id = 7;
  edge.category_id = 1;
  edge.bbox = {-0.0, 0.1 + 0.2, 1e-7, 5e-324};
  edge.area = 1.7976931348623157e308;
  edge.polygons = {{0.29, -0.07, 123456.78, 9999999999999.99, 1e13, 0.005, -1.5, 640}};
  a.annotations.push_back(edge);
  const Dataset b = studio::parse_coco(studio::to_coco_json(a), "doubles.json");
  compare_datasets(a, b);
  QVERIFY(std::signbit(b.annotations.back().bbox[0]));
}

void TestCocoIo::non_finite_numbers_are_refused() {
  Dataset a;
  Annotation ann;
  ann.id = 5;
  ann.bbox = {0, 0, NAN, 1};
  a.annotations.push_back(ann);
  STUDIO_EXPECT_ERROR((void)studio::to_coco_json(a), "annotation 5", "bbox");
}

void TestCocoIo::progress_and_cancel() {
  // 25k annotations: progress is reported while reading, and a cancel stops the read.
  std::string json = R"({"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [)";
  for (int i = 0; i < 25000; ++i) {
    if (i) json += ",\n";
    json += R"({"id": )" + std::to_string(i) + R"(, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]})";
  }
  json += "]}";
  QTemporaryDir dir;
  const std::string path = studio::test::write_text(dir, "many.json", json);

  // The one walk, and the pieces (small ones, two threads: progress comes from the first).
  studio::ReadOptions pieces = every_element_a_piece(2, nullptr);
  pieces.piece_bytes = 4096;
  for (const studio::ReadOptions& options : {studio::ReadOptions{}, pieces}) {
    std::vector<std::size_t> done;
    studio::Progress progress;
    progress.report = [&](std::size_t d, std::size_t total, const std::string& stage) {
      QCOMPARE(total, json.size());
      QVERIFY(studio::test::contains(stage, "many.json"));
      done.push_back(d);
    };
    const Dataset ds = studio::read_coco(path, "", progress, options);
    QCOMPARE(ds.annotations.size(), std::size_t{25000});
    QVERIFY(done.size() >= 3);
    QVERIFY(std::is_sorted(done.begin(), done.end()));
    QCOMPARE(done.back(), json.size());

    std::atomic<bool> cancel{true};
    progress.cancel = &cancel;
    bool cancelled = false;
    try {
      (void)studio::read_coco(path, "", progress, options);
    } catch (const studio::Cancelled&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
  }
}

// Big files are read in pieces on several threads; the dataset must be the one walk's, element
// for element, whatever the threads and the piece size. Forced here on small files.
void TestCocoIo::pieces_read_the_same() {
  QTemporaryDir dir;
  // A generated file: polygons, compressed and uncompressed RLE, areas given and computed, ids
  // out of order, sections in an unusual order, extra fields.
  std::mt19937 rng(7);
  Dataset d;
  for (int i = 1; i <= 40; ++i) d.images.push_back({1000 - i, "img/" + std::to_string(i) + ".jpg", 64 + i, 48 + i % 7});
  for (int k = 1; k <= 5; ++k) d.categories.push_back({k * 3, "c" + std::to_string(k), "s"});
  for (int j = 0; j < 600; ++j) {
    Annotation a;
    a.id = 5000 - j;
    a.image_id = 1000 - 1 - static_cast<int>(rng() % 40);
    a.category_id = 3 * (1 + static_cast<int>(rng() % 5));
    const double x = rng() % 40, y = rng() % 30;
    a.bbox = {x, y, 8.5, 6.25};
    if (j % 50 == 7) {
      const auto& im = *std::find_if(d.images.begin(), d.images.end(), [&](auto& m) { return m.id == a.image_id; });
      a.rle = studio::rle_from_polygons({{x, y, x + 8, y, x + 8, y + 6}}, im.height, im.width);
      a.iscrowd = j % 100 == 7;
    } else {
      a.polygons.push_back({x, y, x + 8.5, y, x + 4.25, y + 6.25});
      if (j % 3 == 0) a.polygons.push_back({x + 1, y + 1, x + 2, y + 1, x + 2, y + 2});
    }
    a.area = j % 4 == 0 ? 123456.5 : 17.75 + j;  // the first taken out of the file below
    d.annotations.push_back(std::move(a));
  }
  std::string json = studio::to_coco_json(d);
  // Areas left out are computed by the reader (from the mask, else the box).
  const std::string omitted = "\"area\":123456.5,";
  for (std::string::size_type at; (at = json.find(omitted)) != std::string::npos;) json.erase(at, omitted.size());
  json.insert(1, R"("info": {"s": "]}\"{[", "n": [1, [2, {"x": null}]]}, "note": "x", "n": -1.5e3, )");
  const std::string generated = studio::test::write_text(dir, "generated.json", json);
  const std::string sample = studio::test::write_text(dir, "sample.json", kSample);

  for (const std::string& file : {generated, sample}) {
    bool used = true;
    const Dataset walked = studio::read_coco(file, "root", {}, one_walk(&used));
    QVERIFY(!used);
    for (int threads : {1, 3}) {
      for (std::size_t bytes : {std::size_t{1}, std::size_t{700}, std::size_t{1} << 20}) {
        studio::ReadOptions o = every_element_a_piece(threads, &used);
        o.piece_bytes = bytes;
        const Dataset pieces = studio::read_coco(file, "root", {}, o);
        QVERIFY(used);
        compare_datasets(walked, pieces);
        QCOMPARE(pieces.image_root, walked.image_root);
        QCOMPARE(pieces.annotations_of(walked.images[0].id).size(), walked.annotations_of(walked.images[0].id).size());
      }
    }
  }
  const Dataset generated_back = studio::read_coco(generated, "", {}, every_element_a_piece(2, nullptr));
  QCOMPARE(generated_back.annotations.size(), std::size_t{600});
  // Annotation 4 gave no area: the reader computed its polygons' pixel count.
  QVERIFY(generated_back.annotations[4].area > 0 && generated_back.annotations[4].area != 123456.5);
  // The same key twice is legal JSON the walk reads (both lists); the pieces leave it to the walk.
  std::string twice = kSample;
  twice.insert(1, R"("categories": [{"id": 9, "name": "extra"}], )");
  bool used = true;
  const Dataset both = studio::read_coco(studio::test::write_text(dir, "twice.json", twice), "", {},
                                         every_element_a_piece(2, &used));
  QVERIFY(!used);
  QCOMPARE(both.categories.size(), std::size_t{3});
  // Without an "annotations" key (a test-set image list), both ways say so.
  const std::string no_list = studio::test::write_text(
      dir, "no_list.json", R"({"images": [{"id": 1, "file_name": "a.jpg", "width": 2, "height": 2}]})");
  QVERIFY(studio::read_coco(no_list, "", {}, one_walk(nullptr)).annotation_list_missing);
  QVERIFY(studio::read_coco(no_list, "", {}, every_element_a_piece(2, &used)).annotation_list_missing);
  QVERIFY(used);
  QVERIFY(!studio::read_coco(sample, "", {}, every_element_a_piece(2, nullptr)).annotation_list_missing);
  QVERIFY(!studio::read_coco(sample, "", {}, one_walk(nullptr)).annotation_list_missing);
}

// The pre-pass follows strings (escaped quotes, brackets inside them) and nesting, and answers
// nothing for text that is not plainly one object.
void TestCocoIo::split_finds_the_elements() {
  const std::string text = R"( {"a": "x\"]}", "images": [ {"s": "\\"} , {"t": "}", "u": [[1], {}]} ], "n": -1.5e3, "e": []} )";
  const auto fields = studio::split_top_level(text, {"images", "e"});
  QVERIFY(fields.has_value());
  QCOMPARE(fields->size(), std::size_t{4});
  QCOMPARE((*fields)[0].key, std::string_view("a"));
  QCOMPARE(text.substr((*fields)[0].value.begin, (*fields)[0].value.end - (*fields)[0].value.begin),
           std::string(R"("x\"]}")"));
  const auto& images = (*fields)[1];
  QVERIFY(images.is_array);
  QCOMPARE(images.objects.size(), std::size_t{2});
  QCOMPARE(text.substr(images.objects[0].begin, images.objects[0].end - images.objects[0].begin),
           std::string(R"({"s": "\\"})"));
  QCOMPARE(text.substr(images.objects[1].begin, images.objects[1].end - images.objects[1].begin),
           std::string(R"({"t": "}", "u": [[1], {}]})"));
  QCOMPARE(text.substr((*fields)[2].value.begin, (*fields)[2].value.end - (*fields)[2].value.begin),
           std::string("-1.5e3"));
  QVERIFY((*fields)[3].is_array && (*fields)[3].objects.empty());
  for (const char* bad : {R"({"images": [{"a": 1}}})", R"({"images": [{"a": "1}]})", R"({"images": []} x)",
                          R"({"images": [{}, 5]})", R"({"images": [{},, {}]})", R"({"images": [{}], "images": []})",
                          "\xef\xbb\xbf{\"images\": []}", R"([{}])", R"({"images" [] })", ""})
    QVERIFY2(!studio::split_top_level(bad, {"images"}).has_value(), bad);
  const auto array = studio::split_array(R"([{"a": "]"}, {}])");
  QVERIFY(array.has_value());
  QCOMPARE(array->size(), std::size_t{2});
  QVERIFY(!studio::split_array(R"([{}, []])").has_value());
}

QTEST_APPLESS_MAIN(TestCocoIo)
#include "test_coco_io.moc"
