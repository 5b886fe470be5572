// COCO results files: what loadRes derives (areas, mask boxes), every validation error with its
// file, line and "[i].field", and writing back without losing a digit.
#include <limits>

#include "common/error.h"
#include "data/coco_io.h"
#include "eval/coco_results.h"
#include "test_support.h"

using namespace studio;

namespace {

// Two images (4 wide, 3 high; 10 x 10) and categories 1 and 3.
Dataset make_gt() {
  return parse_coco(R"({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3},
                                   {"id": 2, "file_name": "b.jpg", "width": 10, "height": 10}],
                        "categories": [{"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}],
                        "annotations": []})",
                    "gt.json");
}

// Reading in pieces however small the file: one detection a piece.
ReadOptions every_detection_a_piece(int threads, bool* used) {
  ReadOptions o;
  o.pieces_above = 0;
  o.piece_bytes = 1;
  o.threads = threads;
  o.read_in_pieces = used;
  return o;
}

bool same_detection(const Detection& a, const Detection& b) {
  return a.image_id == b.image_id && a.category_id == b.category_id && a.bbox == b.bbox && a.segm == b.segm &&
         a.score == b.score && a.area == b.area;
}

}  // namespace

class TestCocoResults : public QObject {
  Q_OBJECT

 private slots:
  void iou_type_names() {
    QCOMPARE(std::string(iou_type_name(IouType::Bbox)), std::string("bbox"));
    QCOMPARE(std::string(iou_type_name(IouType::Segm)), std::string("segm"));
    QVERIFY(parse_iou_type("segm") == IouType::Segm);
    QVERIFY(parse_iou_type("bbox") == IouType::Bbox);
    STUDIO_EXPECT_ERROR((void)parse_iou_type("keypoints"), "keypoints", "bbox, segm");
  }

  void bbox_results() {
    const Dataset gt = make_gt();
    const auto dt = parse_coco_results(
        R"([{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3.5, 2], "score": 0.9, "extra": [1, {"a": 2}]},
            {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.25, "segmentation": "ignored"}])",
        "dt.json", gt, IouType::Bbox);
    QCOMPARE(dt.size(), std::size_t{2});
    QCOMPARE(dt[0].image_id, std::int64_t{1});
    QCOMPARE(dt[0].category_id, std::int64_t{3});
    QCOMPARE(dt[0].bbox[2], 3.5);
    QCOMPARE(dt[0].area, 7.0);
    QCOMPARE(dt[0].score, 0.9);
    QVERIFY(!dt[0].segm);
    QCOMPARE(dt[1].area, 100.0);
    QVERIFY(parse_coco_results("[]", "dt.json", gt, IouType::Bbox).empty());
    QVERIFY(parse_coco_results(" [ ] \n", "dt.json", gt, IouType::Segm).empty());
  }

  void segm_results_take_box_and_area_from_the_mask() {
    const Dataset gt = make_gt();
    // Column-major runs on the 3 x 4 image: one 0, then pixels (x=0, y=1) and (x=0, y=2).
    const Rle rle = rle_from_counts({1, 2, 9}, 3, 4);
    const std::string counts = rle_to_string(rle);
    const auto dt =
        parse_coco_results(R"([{"image_id": 1, "category_id": 1, "score": 0.5, "bbox": [9, 9, 9, 9],
                                            "segmentation": {"size": [3, 4], "counts": ")" +
                               counts + R"("}},
                                          {"image_id": 1, "category_id": 1, "score": 0.4,
                                            "segmentation": {"counts": [1, 2, 9], "size": [3, 4]}}])",
                           "dt.json", gt, IouType::Segm);
    QCOMPARE(dt.size(), std::size_t{2});
    QVERIFY(dt[0].segm && *dt[0].segm == rle);
    QVERIFY(dt[1].segm && *dt[1].segm == rle);
    // The first result carries a "bbox", so loadRes takes its bbox branch for the whole file:
    // the given box is kept and the area is w*h (81), which is what the area ranges then see.
    QCOMPARE(dt[0].area, 81.0);
    QCOMPARE(dt[0].bbox[0], 9.0);
    QCOMPARE(dt[0].bbox[3], 9.0);
    // A result without a box gets the mask's box and area.
    QCOMPARE(dt[1].area, 2.0);
    QCOMPARE(dt[1].bbox[0], 0.0);
    QCOMPARE(dt[1].bbox[1], 1.0);
    QCOMPARE(dt[1].bbox[2], 1.0);
    QCOMPARE(dt[1].bbox[3], 2.0);

    // First result without a box: the segm branch, area from the mask for every result, a given
    // box kept as it is.
    const auto dt2 = parse_coco_results(
        R"([{"image_id": 1, "category_id": 1, "score": 0.4, "segmentation": {"counts": [1, 2, 9], "size": [3, 4]}},
            {"image_id": 1, "category_id": 1, "score": 0.3, "bbox": [9, 9, 9, 9],
             "segmentation": {"counts": [1, 2, 9], "size": [3, 4]}}])",
        "dt.json", gt, IouType::Segm);
    QCOMPARE(dt2[0].area, 2.0);
    QCOMPARE(dt2[1].area, 2.0);
    QCOMPARE(dt2[1].bbox[0], 9.0);
  }

  void reads_a_file() {
    QTemporaryDir dir;
    const std::string path = test::write_text(
        dir, "r.json", R"([{"image_id": 2, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 1}])");
    const auto dt = read_coco_results(path, make_gt(), IouType::Bbox);
    QCOMPARE(dt.size(), std::size_t{1});
    STUDIO_EXPECT_ERROR(
        (void)read_coco_results(dir.filePath("none.json").toStdString(), make_gt(), IouType::Bbox),
        "none.json", "cannot read");
  }

  void validation_errors() {
    const Dataset gt = make_gt();
    QTemporaryDir dir;
    // The text parsed from memory, and from a file in pieces: a problem sends the file to the one
    // walk, so both messages are the same but for the file's folder.
    auto both = [&](const std::string& json, IouType type) {
      std::string walked, pieces;
      try {
        (void)parse_coco_results(json, "dt.json", gt, type);
      } catch (const Error& e) {
        walked = e.what();
      }
      bool used = true;
      try {
        (void)read_coco_results(test::write_text(dir, "dt.json", json), gt, type, every_detection_a_piece(2, &used));
      } catch (const Error& e) {
        pieces = e.what();
      }
      QVERIFY(!used);
      QVERIFY2(pieces.size() >= walked.size() && pieces.compare(pieces.size() - walked.size(), walked.size(), walked) == 0,
               qPrintable(QString::fromStdString(walked + " | " + pieces)));
      if (!walked.empty()) throw Error(walked);
    };
    auto bbox = [&](const std::string& json) { both(json, IouType::Bbox); };
    auto segm = [&](const std::string& json) { both(json, IouType::Segm); };
    STUDIO_EXPECT_ERROR((void)bbox(R"({"annotations": []})"), "dt.json:1:", "(top level)",
                        "expected an array");
    STUDIO_EXPECT_ERROR((void)bbox("[1, 2"), "dt.json", "malformed JSON");
    STUDIO_EXPECT_ERROR((void)bbox("[7]"), "[0]", "expected a detection object");
    STUDIO_EXPECT_ERROR((void)bbox(R"([{"category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])"), "[0]",
                        "missing required field \"image_id\"");
    STUDIO_EXPECT_ERROR((void)bbox(R"([{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])"),
                        "missing required field \"category_id\"");
    STUDIO_EXPECT_ERROR((void)bbox(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}])"),
                        "missing required field \"score\"");
    STUDIO_EXPECT_ERROR((void)bbox(R"([{"image_id": 1, "category_id": 1, "score": 1,
                                       "segmentation": {"size": [3, 4], "counts": [12]}}])"),
                        "[0]", "missing required field \"bbox\"");
    STUDIO_EXPECT_ERROR(
        (void)segm(R"([{"image_id": 1, "category_id": 1, "score": 1, "bbox": [0, 0, 1, 1]}])"), "[0]",
        "missing required field \"segmentation\"");
    // The line of the offending detection, counted from 1.
    STUDIO_EXPECT_ERROR(
        (void)bbox("[\n{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1},\n"
                   "{\"image_id\": 7, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1}]"),
        "dt.json:3:", "[1].image_id", "unknown image id 7");
    STUDIO_EXPECT_ERROR(
        (void)bbox(R"([{"image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1], "score": 1}])"),
        "[0].category_id", "unknown category id 2");
    STUDIO_EXPECT_ERROR(
        (void)bbox(R"([{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])"),
        "[0].image_id", "expected an integer", "\"1\"");
    STUDIO_EXPECT_ERROR((void)bbox(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 1}])"),
                        "[0].bbox", "4 numbers", "got 3 values");
    STUDIO_EXPECT_ERROR(
        (void)bbox(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": NaN}])"), "[0].score",
        "finite number", "NaN");
    STUDIO_EXPECT_ERROR(
        (void)bbox(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": -Infinity}])"),
        "[0].score", "Infinity");
    STUDIO_EXPECT_ERROR(
        (void)bbox(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1e999}])"),
        "[0].score", "finite number");
    STUDIO_EXPECT_ERROR((void)segm(R"([{"image_id": 2, "category_id": 1, "score": 1,
                                       "segmentation": {"size": [3, 4], "counts": [12]}}])"),
                        "[0].segmentation.size", "[10, 10]", "got [3, 4]");
    STUDIO_EXPECT_ERROR((void)segm(R"([{"image_id": 1, "category_id": 1, "score": 1,
                                       "segmentation": {"size": [3, 4], "counts": "a~~"}}])"),
                        "dt.json:2:", "[0].segmentation.counts");
    STUDIO_EXPECT_ERROR((void)segm(R"([{"image_id": 1, "category_id": 1, "score": 1,
                                       "segmentation": {"size": [3, 4], "counts": [5, 2]}}])"),
                        "[0].segmentation.counts");
    STUDIO_EXPECT_ERROR((void)segm(R"([{"image_id": 1, "category_id": 1, "score": 1,
                                       "segmentation": {"counts": [12]}}])"),
                        "[0].segmentation", "missing required field \"size\"");
    STUDIO_EXPECT_ERROR((void)segm(R"([{"image_id": 1, "category_id": 1, "score": 1,
                                       "segmentation": [[0, 0, 1, 0, 1, 1]]}])"),
                        "[0].segmentation", "RLE object", "an array");
  }

  // Big files are read in pieces on several threads: the detections are the one walk's, in the
  // same order, with the same areas (the first-result box rule included), whatever the threads.
  void pieces_read_the_same() {
    const Dataset gt = make_gt();
    QTemporaryDir dir;
    std::vector<Detection> dt;
    for (int i = 0; i < 300; ++i) {
      Detection d;
      d.image_id = 1 + i % 2;
      d.category_id = i % 3 == 0 ? 3 : 1;
      d.score = 1.0 / (i + 1);
      const std::uint32_t h = d.image_id == 1 ? 3 : 10, w = d.image_id == 1 ? 4 : 10;
      d.segm = rle_from_polygons({{0.5, 0.5, i % 4 + 1.5, 0.5, 0.5, i % 3 + 1.5}}, h, w);
      d.bbox = {0.25 * (i % 5), 0.5, 2, 1.5 + i % 4};
      dt.push_back(d);
    }
    const std::string with_boxes = test::write_text(dir, "boxes.json", to_coco_results_json(dt));
    // Without a box in the first result loadRes takes the segm branch: mask areas.
    std::string json = to_coco_results_json(dt);
    const auto first_box = json.find("\"bbox\":");
    json.erase(first_box, json.find(']', first_box) + 2 - first_box);
    const std::string first_without = test::write_text(dir, "nobox.json", json);
    for (const std::string& file : {with_boxes, first_without}) {
      for (IouType type : {IouType::Bbox, IouType::Segm}) {
        if (file == first_without && type == IouType::Bbox) continue;  // a bbox result needs its box
        ReadOptions walk;
        walk.pieces_above = std::numeric_limits<std::size_t>::max();
        const auto walked = read_coco_results(file, gt, type, walk);
        QCOMPARE(walked.size(), dt.size());
        for (int threads : {1, 3}) {
          bool used = false;
          ReadOptions o = every_detection_a_piece(threads, &used);
          o.piece_bytes = threads == 1 ? 1 : 500;
          const auto pieces = read_coco_results(file, gt, type, o);
          QVERIFY(used);
          QCOMPARE(pieces.size(), walked.size());
          for (std::size_t i = 0; i < walked.size(); ++i)
            QVERIFY2(same_detection(walked[i], pieces[i]), qPrintable(QString("detection %1").arg(i)));
        }
      }
    }
  }

  void writes_what_it_reads() {
    const Dataset gt = make_gt();
    std::vector<Detection> dt(2);
    dt[0].image_id = 2;
    dt[0].category_id = 3;
    dt[0].bbox = {0.1 + 0.2, 1.0 / 3.0, 5e-324, 7};
    dt[0].score = 0.123456789012345678;
    dt[1].image_id = 1;
    dt[1].category_id = 1;
    dt[1].segm = rle_from_counts({1, 2, 9}, 3, 4);
    dt[1].bbox = rle_bbox(*dt[1].segm);  // the writer writes the box it is given
    dt[1].score = 1;
    const std::string json = to_coco_results_json(dt);
    const auto boxes = parse_coco_results(json, "w.json", gt, IouType::Bbox);
    QCOMPARE(boxes.size(), std::size_t{2});
    for (int i = 0; i < 4; ++i) QCOMPARE(boxes[0].bbox[i], dt[0].bbox[i]);
    QCOMPARE(boxes[0].score, dt[0].score);
    QVERIFY(!boxes[1].segm);  // bbox results ignore masks, as loadRes does
    STUDIO_EXPECT_ERROR((void)parse_coco_results(json, "w.json", gt, IouType::Segm), "[0]", "segmentation");
    const auto masks = parse_coco_results(to_coco_results_json({dt[1]}), "w.json", gt, IouType::Segm);
    QCOMPARE(masks.size(), std::size_t{1});
    QVERIFY(masks[0].segm && *masks[0].segm == *dt[1].segm);
    QCOMPARE(masks[0].bbox[3], 2.0);
  }
};

QTEST_APPLESS_MAIN(TestCocoResults)
#include "test_coco_results.moc"
