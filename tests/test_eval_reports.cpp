// Reports beyond the 12 numbers: the confusion matrix and per-category table on hand-made cases,
// result tables in every format (exact text), and the metrics file read back from a run folder.
#include <QDir>
#include <cmath>

#include "common/error.h"
#include "data/shapes_generator.h"
#include "eval/metrics_file.h"
#include "test_support.h"

using namespace studio;

namespace {

Annotation ann(std::int64_t image, std::int64_t cat, std::array<double, 4> b, bool crowd = false) {
  Annotation a;
  a.image_id = image;
  a.category_id = cat;
  a.bbox = b;
  a.iscrowd = crowd;
  a.area = b[2] * b[3];
  return a;
}

Detection det(std::int64_t image, std::int64_t cat, std::array<double, 4> b, double score, bool mask) {
  Detection d;
  d.image_id = image;
  d.category_id = cat;
  d.bbox = b;
  d.score = score;
  d.area = b[2] * b[3];
  if (mask)
    d.segm = rle_from_polygon({b[0], b[1], b[0], b[1] + b[3], b[0] + b[2], b[1] + b[3], b[0] + b[2], b[1]},
                              100, 100);
  return d;
}

Dataset confusion_gt() {
  Dataset gt;
  gt.images = {{1, "1.jpg", 100, 100}, {2, "2.jpg", 100, 100}};
  gt.categories = {{1, "cat", ""}, {2, "dog", ""}};
  gt.annotations = {ann(1, 1, {0, 0, 10, 10}), ann(1, 2, {20, 0, 10, 10}), ann(1, 1, {50, 50, 20, 20}, true),
                    ann(2, 1, {0, 0, 10, 10})};
  gt.index();
  return gt;
}

std::vector<Detection> confusion_dt(bool mask) {
  return {det(1, 2, {0, 0, 10, 10}, 0.9, mask),   // on the cat: row cat, column dog
          det(1, 2, {20, 0, 10, 10}, 0.8, mask),  // on the dog
          det(1, 1, {0, 0, 10, 10}, 0.7, mask),   // the cat is taken: false positive
          det(1, 1, {55, 55, 5, 5}, 0.6, mask),   // inside the crowd region: not counted
          det(1, 1, {80, 80, 5, 5}, 0.2, mask)};  // below the score threshold
}

// K = 2 categories, default parameters; category 1 has AP 0.6 (0.8 for IoU < 0.75, else 0.4).
CocoEvalResult hand_result() {
  CocoEvalResult r;
  r.cat_ids = {1, 2};
  r.precision.assign(r.T() * r.R() * r.K() * r.A() * r.M(), -1);
  r.recall.assign(r.T() * r.K() * r.A() * r.M(), -1);
  auto p = [&](std::size_t t, std::size_t ri, std::size_t k, std::size_t a, std::size_t m) -> double& {
    return r.precision[(((t * r.R() + ri) * r.K() + k) * r.A() + a) * r.M() + m];
  };
  for (std::size_t t = 0; t < r.T(); ++t) {
    for (std::size_t ri = 0; ri < r.R(); ++ri) {
      p(t, ri, 0, 0, 2) = t < 5 ? 0.8 : 0.4;
      p(t, ri, 0, 0, 0) = 0.0;  // maxDets 1: not in the table
      p(t, ri, 0, 1, 2) = 0.2;
      p(t, ri, 0, 3, 2) = 1.0;
    }
    r.recall[((t * r.K() + 0) * r.A() + 0) * r.M() + 2] = 0.9;
  }
  return r;
}

MetricsFile sample_run() {
  MetricsFile m;
  m.source = "/x/runs/solo/eval/metrics_3.json";
  m.meta = {"solov2_r50", "coco_2017", 8, 12, 41.3};
  m.bbox = CocoMetrics{};
  m.bbox->stats.fill(-1);
  m.bbox->stats[0] = 0.3456;
  m.segm = CocoMetrics{};
  m.segm->stats = {0.3, 0.5, 0.32, 0.1, 0.33, 0.45, 0.2, 0.4, 0.5, 0.3, 0.5, 0.6};
  return m;
}

MetricsFile sample_voc_run() {
  MetricsFile m;
  m.source = "b_run.json";
  m.meta.model = "ssd|mb & v2_x, \"q\"";
  m.voc = VocEvalResult{};
  m.voc->map = 0.7712;
  return m;
}

}  // namespace

class TestEvalReports : public QObject {
  Q_OBJECT

 private slots:
  void confusion_matrix_by_hand() {
    for (IouType type : {IouType::Bbox, IouType::Segm}) {
      const Dataset gt = confusion_gt();
      const ConfusionMatrix cm = confusion_matrix(gt, confusion_dt(type == IouType::Segm), type);
      QCOMPARE(cm.names, (std::vector<std::string>{"cat", "dog"}));
      QCOMPARE(cm.category_ids, (std::vector<std::int64_t>{1, 2}));
      // rows: cat, dog, background; columns the same.
      QCOMPARE(cm.counts, (std::vector<std::size_t>{0, 1, 1,  //
                                                    0, 1, 0,  //
                                                    1, 0, 0}));
      QCOMPARE(cm.at(0, 2), std::size_t{1});  // the cat of image 2 was missed
    }
    // A lower score threshold lets the last detection in as a false positive.
    const ConfusionMatrix low =
        confusion_matrix(confusion_gt(), confusion_dt(false), IouType::Bbox, 0.5, 0.1);
    QCOMPARE(low.at(2, 0), std::size_t{2});
  }

  void per_category_table_from_precision() {
    Dataset gt = confusion_gt();
    const auto rows = per_category_table(hand_result(), gt);
    QCOMPARE(rows.size(), std::size_t{2});
    QCOMPARE(rows[0].name, std::string("cat"));
    QCOMPARE(rows[0].gt_count, std::size_t{2});  // the crowd region doesn't count
    QVERIFY(std::fabs(rows[0].ap - 0.6) < 1e-12);
    QCOMPARE(rows[0].ap50, 0.8);
    QCOMPARE(rows[0].ap75, 0.4);
    QCOMPARE(rows[0].ap_small, 0.2);
    QCOMPARE(rows[0].ap_medium, -1.0);
    QCOMPARE(rows[0].ap_large, 1.0);
    QCOMPARE(rows[0].ar100, 0.9);
    QCOMPARE(rows[1].name, std::string("dog"));
    QCOMPARE(rows[1].gt_count, std::size_t{1});
    QCOMPARE(rows[1].ap, -1.0);
    QCOMPARE(rows[1].ar100, -1.0);
  }

  void pr_curves_with_mean() {
    const auto curves = pr_curves(hand_result());
    QCOMPARE(curves.size(), std::size_t{6});  // (mean, cat, dog) at IoU 0.5 and 0.75
    QCOMPARE(curves[0].category_id, std::int64_t{0});
    QCOMPARE(curves[0].iou, 0.5);
    QCOMPARE(curves[0].recall.size(), std::size_t{101});
    QCOMPARE(curves[0].precision[50], 0.8);  // dog's undefined curve is left out of the mean
    QCOMPARE(curves[1].category_id, std::int64_t{1});
    QCOMPARE(curves[2].precision[0], -1.0);
    QCOMPARE(curves[3].iou, 0.75);
    QCOMPARE(curves[3].precision[100], 0.4);
  }

  void export_formats() {
    const std::vector<MetricsFile> runs{sample_run(), sample_voc_run()};
    QCOMPARE(export_table(runs, parse_table_format("csv")),
             std::string(
                 "name,model,dataset,devices,epochs,images/s,box AP / VOC mAP,mask AP,mask AP50,mask AP75,mask APs,mask APm,mask APl\n"
                 "solo,solov2_r50,coco_2017,8,12,41.3,34.6,30.0,50.0,32.0,10.0,33.0,45.0\n"
                 "b_run,\"ssd|mb & v2_x, \"\"q\"\"\",-,-,-,-,77.1,-,-,-,-,-,-\n"));
    QCOMPARE(
        export_table(runs, parse_table_format("md")),
        std::string(
            "| name | model | dataset | devices | epochs | images/s | box AP / VOC mAP | mask AP | mask AP50 | "
            "mask AP75 | mask APs | mask APm | mask APl |\n"
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            "| solo | solov2_r50 | coco_2017 | 8 | 12 | 41.3 | 34.6 | 30.0 | 50.0 | 32.0 | 10.0 | 33.0 | "
            "45.0 |\n"
            "| b_run | ssd\\|mb & v2_x, \"q\" | - | - | - | - | 77.1 | - | - | - | - | - | - |\n"));
    QCOMPARE(
        export_table(runs, parse_table_format("tex")),
        std::string(
            "\\begin{tabular}{lllrrrrrrrrrr}\n\\toprule\n"
            "name & model & dataset & devices & epochs & images/s & box AP / VOC mAP & mask AP & mask AP50 & "
            "mask AP75 & mask APs & mask APm & mask APl \\\\\n\\midrule\n"
            "solo & solov2\\_r50 & coco\\_2017 & 8 & 12 & 41.3 & 34.6 & 30.0 & 50.0 & 32.0 & 10.0 & 33.0 "
            "& 45.0 \\\\\n"
            "b\\_run & ssd|mb \\& v2\\_x, \"q\" & - & - & - & - & 77.1 & - & - & - & - & - & - \\\\\n"
            "\\bottomrule\n\\end{tabular}\n"));
    QCOMPARE(
        export_table(runs, parse_table_format("json")),
        std::string(
            "[{\"name\":\"solo\",\"model\":\"solov2_r50\",\"dataset\":\"coco_2017\",\"devices\":8,"
            "\"epochs\":12,\"images_per_s\":41.3,\"box_ap\":34.6,\"mask_ap\":30.0,\"ap50\":50.0,"
            "\"ap75\":32.0,\"ap_s\":10.0,\"ap_m\":33.0,\"ap_l\":45.0},"
            "{\"name\":\"b_run\",\"model\":\"ssd|mb & v2_x, \\\"q\\\"\",\"dataset\":null,\"devices\":null,"
            "\"epochs\":null,\"images_per_s\":null,\"box_ap\":77.1,\"mask_ap\":null,\"ap50\":null,"
            "\"ap75\":null,\"ap_s\":null,\"ap_m\":null,\"ap_l\":null}]\n"));
    // Without VOC runs the column is plain box AP; TeX escapes the rest of its specials.
    MetricsFile odd = sample_run();
    odd.meta.model = "a\\b~c^d%e$f#g{h}";
    const std::string tex = export_table({odd}, TableFormat::Latex);
    QVERIFY2(test::contains(tex, "& box AP & mask AP"), tex.c_str());
    QVERIFY2(
        test::contains(tex, "a\\textbackslash{}b\\textasciitilde{}c\\textasciicircum{}d\\%e\\$f\\#g\\{h\\}"),
        tex.c_str());
    STUDIO_EXPECT_ERROR((void)parse_table_format("xlsx"), "xlsx", "csv, md, tex, json");
    // The detail columns say their kind: box numbers for box-only runs; beside a mask run a
    // box-only run has no mask details ("-"), rather than box numbers under mask ones.
    MetricsFile boxes = sample_run();
    boxes.segm.reset();
    boxes.bbox->stats[1] = 0.55;  // box AP50
    const std::string box_csv = export_table({boxes}, TableFormat::Csv);
    QVERIFY2(test::contains(box_csv, ",mask AP,box AP50,box AP75,box APs,box APm,box APl\n"), box_csv.c_str());
    QVERIFY2(test::contains(box_csv, ",34.6,-,55.0,-,-,-,-\n"), box_csv.c_str());
    const std::string mixed = export_table({sample_run(), boxes}, TableFormat::Csv);
    QVERIFY2(test::contains(mixed, ",mask APl\n"), mixed.c_str());
    QVERIFY2(test::contains(mixed, ",34.6,-,-,-,-,-,-\n"), mixed.c_str());
  }

  // The whole chain on a generated set: ground-truth masks written as a results file, read back
  // and evaluated, give AP 1 and a diagonal confusion matrix.
  void perfect_segm_results() {
    QTemporaryDir dir;
    ShapesOptions options;
    options.out_dir = dir.filePath("shapes").toStdString();
    options.images = 4;
    options.size = 64;
    const Dataset gt = generate_shapes(options);
    std::vector<Detection> dt;
    for (const Annotation& a : gt.annotations) {
      const ImageInfo* image = gt.image_by_id(a.image_id);
      Detection d;
      d.image_id = a.image_id;
      d.category_id = a.category_id;
      d.score = 0.9;
      d.segm = a.rle ? *a.rle : rle_from_polygons(a.polygons, image->height, image->width);
      dt.push_back(d);
    }
    const auto read = parse_coco_results(to_coco_results_json(dt), "perfect.json", gt, IouType::Segm);
    QCOMPARE(read.size(), gt.annotations.size());
    const CocoEvalResult result = evaluate_coco(gt, read, IouType::Segm, {}, {}, 1);
    QCOMPARE(result.stats[0], 1.0);
    const CocoMetrics m = make_coco_metrics(result, gt, read);
    QVERIFY(m.confusion);
    std::size_t diagonal = 0;
    for (std::size_t k = 0; k < m.confusion->names.size(); ++k) diagonal += m.confusion->at(k, k);
    QCOMPARE(diagonal, gt.annotations.size());
    for (const CategoryRow& row : m.per_category)
      if (row.gt_count > 0) QCOMPARE(row.ap, 1.0);
  }

  void round_trip() {
    QTemporaryDir dir;
    MetricsFile m = sample_run();
    const Dataset gt = confusion_gt();
    const CocoEvalResult r = hand_result();
    m.bbox->per_category = per_category_table(r, gt);
    m.bbox->pr_curves = pr_curves(r);
    m.bbox->confusion = confusion_matrix(gt, confusion_dt(false), IouType::Bbox);
    m.voc = VocEvalResult{};
    m.voc->method = VocApMethod::Points11;
    m.voc->map = 1.0 / 3.0;
    VocClassAp c;
    c.category_id = 4;
    c.name = "bird";
    c.gt_count = 3;
    c.detections = 5;
    c.ap = 0.1 + 0.2;
    c.recall = {0.5, 1};
    c.precision = {1, 2.0 / 3.0};
    m.voc->classes = {c};
    const std::string json = metrics_to_json(m);
    const std::string path = test::write_text(dir, "m.json", json);
    const MetricsFile back = read_metrics(path);
    QCOMPARE(back.source, path);
    QCOMPARE(back.meta.model, m.meta.model);
    QCOMPARE(back.meta.images_per_s, 41.3);
    QVERIFY(back.bbox && back.segm && back.voc);
    QCOMPARE(back.segm->stats, m.segm->stats);
    QCOMPARE(back.bbox->per_category.size(), std::size_t{2});
    QCOMPARE(back.bbox->per_category[0].ap, m.bbox->per_category[0].ap);
    QCOMPARE(back.bbox->pr_curves.size(), std::size_t{6});
    QCOMPARE(back.bbox->pr_curves[3].precision, m.bbox->pr_curves[3].precision);
    QVERIFY(back.bbox->confusion && back.bbox->confusion->counts == m.bbox->confusion->counts);
    QCOMPARE(back.voc->method, VocApMethod::Points11);
    QCOMPARE(back.voc->classes[0].ap, 0.1 + 0.2);
    QCOMPARE(back.voc->classes[0].precision, c.precision);
    QCOMPARE(metrics_to_json(back), json);  // nothing lost, every double exact
  }

  void read_run_folder() {
    QTemporaryDir dir;
    QDir(dir.path()).mkpath("runs/exp1/eval");
    MetricsFile older = sample_run();
    older.meta = {};
    older.bbox->stats[0] = 0.1;
    MetricsFile newer = older;
    newer.bbox->stats[0] = 0.2;
    test::write_text(dir, "runs/exp1/eval/metrics_2.json", metrics_to_json(older));
    test::write_text(dir, "runs/exp1/eval/metrics_10.json", metrics_to_json(newer));
    test::write_text(dir, "runs/exp1/eval/results_10.json", "[]");
    test::write_text(
        dir, "runs/exp1/config.yaml",
        "model:\n  name: mask_rcnn_r50_fpn\ndataset: coco_2017\ntrain:\n  epochs: 12\ndevices: 8\n");
    test::write_text(dir, "runs/exp1/events.jsonl",
                     "{\"type\": \"start\", \"time\": 0}\n"
                     "{\"type\": \"train\", \"images_per_s\": 10}\n"
                     "{\"type\": \"train\", \"images_per_s\": 20}\n"
                     "{\"type\": \"train\", \"images_");
    const std::string run = dir.filePath("runs/exp1").toStdString();
    const MetricsFile m = read_metrics(run);
    QVERIFY2(test::contains(m.source, "metrics_10.json"), m.source.c_str());  // 10 > 2 as numbers
    QCOMPARE(m.bbox->stats[0], 0.2);
    QCOMPARE(m.meta.model, std::string("mask_rcnn_r50_fpn"));
    QCOMPARE(m.meta.dataset, std::string("coco_2017"));
    QCOMPARE(m.meta.epochs, 12);
    QCOMPARE(m.meta.devices, 8);
    QCOMPARE(m.meta.images_per_s, 15.0);
    QVERIFY(test::contains(export_table({m}, TableFormat::Csv),
                           "\nexp1,mask_rcnn_r50_fpn,coco_2017,8,12,15.0,20.0,"));

    QDir(dir.path()).mkpath("runs/empty");
    STUDIO_EXPECT_ERROR((void)read_metrics(dir.filePath("runs/empty").toStdString()), "runs/empty",
                        "no eval/metrics_<k>.json");
    STUDIO_EXPECT_ERROR((void)read_metrics(dir.filePath("nothing").toStdString()), "nothing", "no such");
  }

  void metrics_file_errors() {
    QTemporaryDir dir;
    const std::string bad = test::write_text(dir, "bad.json", R"({"bbox": {"stats": {"AP": "high"}}})");
    STUDIO_EXPECT_ERROR((void)read_metrics(bad), "bad.json", "bbox.stats.AP", "expected a number");
    const std::string broken = test::write_text(dir, "broken.json", R"({"bbox": )");
    STUDIO_EXPECT_ERROR((void)read_metrics(broken), "broken.json:1: malformed JSON at column 10",
                        "the object opened at line 1, column 1 is not closed");
    // A JSON that is not a metrics file (an annotation file, a results file) is not a row of dashes.
    const std::string other = test::write_text(dir, "ann.json", R"({"images": [], "annotations": []})");
    STUDIO_EXPECT_ERROR((void)read_metrics(other), "ann.json: (top level): not a metrics file",
                        "none of \"bbox\", \"segm\" or \"voc\"");
    const std::string conf = test::write_text(
        dir, "conf.json", R"({"segm": {"confusion": {"names": ["a"], "counts": [[1, 2], [3]]}}})");
    STUDIO_EXPECT_ERROR((void)read_metrics(conf), "conf.json", "segm.confusion.counts[1]",
                        "expected 2 counts");
    // Old or partial files: what is there is read, the rest stays empty.
    const std::string partial = test::write_text(dir, "partial.json", R"({"voc": {"map": 0.5}})");
    const MetricsFile m = read_metrics(partial);
    QVERIFY(!m.bbox && !m.segm && m.voc);
    QCOMPARE(m.voc->map, 0.5);
    QCOMPARE(m.meta.images_per_s, -1.0);
  }
};

QTEST_APPLESS_MAIN(TestEvalReports)
#include "test_eval_reports.moc"
