// Parity of the detection ops with torchvision 0.14 itself: tests/torchvision/make_ops_fixtures.py
// runs torchvision on fixed inputs and saves inputs and outputs; this test runs our ops on the
// same inputs. Indices, labels, masks and anchors must be equal; float outputs within 1e-5
// (relative, plus 1e-6 absolute; they are bit-equal when LibTorch and the Python torch are the
// same build, and the largest difference is printed).
//
// The fixture folder comes from STUDIO_TV_FIXTURES (CTest sets it after running the script, see
// tests/CMakeLists.txt). Without it, or without the file, the test fails: it does not skip.
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <cstdlib>
#include <map>
#include <string>

#include "modeling/ops/anchor_generator/anchor_generator.h"
#include "modeling/ops/balanced_sampler/balanced_sampler.h"
#include "modeling/ops/box_coder/box_coder.h"
#include "modeling/ops/box_ops/box_ops.h"
#include "modeling/ops/matcher/matcher.h"
#include "modeling/ops/multi_scale_roi_align/multi_scale_roi_align.h"
#include "modeling/ops/nms/nms.h"
#include "modeling/ops/paste_masks/paste_masks.h"
#include "modeling/ops/roi_align/roi_align.h"
#include "modeling/weights/pth_file.h"

using namespace studio;

class TestDetectionOpsTorchvision : public QObject {
  Q_OBJECT

  std::map<std::string, torch::Tensor> fx_;

  torch::Tensor fx(const std::string& name) const {
    auto it = fx_.find(name);
    if (it == fx_.end())
      throw std::runtime_error("fixture tensor '" + name + "' missing: regenerate the fixtures");
    return it->second;
  }

  // Equal values and shapes (indices, labels, masks, anchors).
  static bool same(const char* what, const torch::Tensor& got, const torch::Tensor& want) {
    if (got.sizes() != want.sizes()) {
      qWarning("%s: shape %s vs torchvision %s", what, c10::str(got.sizes()).c_str(),
               c10::str(want.sizes()).c_str());
      return false;
    }
    if (!torch::equal(got.to(torch::kDouble), want.to(torch::kDouble))) {
      torch::Tensor diff = (got.to(torch::kDouble) != want.to(torch::kDouble)).nonzero();
      qWarning("%s: %lld elements differ, first at %s", what, static_cast<long long>(diff.size(0)),
               c10::str(diff[0]).c_str());
      return false;
    }
    return true;
  }

  // |got - want| <= 1e-6 + 1e-5 |want| everywhere; prints the largest difference.
  static bool close(const char* what, const torch::Tensor& got, const torch::Tensor& want) {
    if (got.sizes() != want.sizes()) {
      qWarning("%s: shape %s vs torchvision %s", what, c10::str(got.sizes()).c_str(),
               c10::str(want.sizes()).c_str());
      return false;
    }
    torch::Tensor g = got.to(torch::kDouble), w = want.to(torch::kDouble);
    const double max_diff = g.numel() ? (g - w).abs().max().item<double>() : 0.0;
    qInfo("%s: max |diff| %.3g over %lld values%s", what, max_diff, static_cast<long long>(g.numel()),
          torch::equal(got, want.to(got.scalar_type())) ? " (bit-equal)" : "");
    return ((g - w).abs() <= 1e-6 + 1e-5 * w.abs()).all().item<bool>();
  }

 private slots:
  void initTestCase() {
    const char* dir = std::getenv("STUDIO_TV_FIXTURES");
    QVERIFY2(
        dir && *dir,
        "STUDIO_TV_FIXTURES is not set: run through ctest (which runs tests/torchvision/make_ops_fixtures.py "
        "first) or set it to the folder the script wrote");
    const std::string path = std::string(dir) + "/torchvision_ops.pt";
    QVERIFY2(QFileInfo::exists(QString::fromStdString(path)),
             qPrintable(QString("%1 missing: the fixture script did not run (python3-torchvision installed?)")
                            .arg(QString::fromStdString(path))));
    for (auto& e : read_pth(path)) fx_[e.name] = e.tensor;
    QVERIFY(fx_.size() > 50);
  }

  void box_ops() {
    QVERIFY(close("box_iou", box_iou(fx("box_iou/boxes1"), fx("box_iou/boxes2")), fx("box_iou/iou")));
    QVERIFY(close("box_area", box_area(fx("box_iou/boxes1")), fx("box_area/area")));
    QVERIFY(same("remove_small_boxes 1", remove_small_boxes(fx("remove_small_boxes/boxes"), 1.0),
                 fx("remove_small_boxes/keep_1")));
    QVERIFY(same("remove_small_boxes 1e-2", remove_small_boxes(fx("remove_small_boxes/boxes"), 1e-2),
                 fx("remove_small_boxes/keep_1e-2")));
    QVERIFY(same("clip_boxes_to_image", clip_boxes_to_image(fx("clip/boxes"), 80, 100),
                 fx("clip/clipped_80x100")));
  }

  void nms_with_ties() {
    for (const char* thr : {"0.3", "0.5", "0.7"})
      QVERIFY(same(qPrintable(QString("nms %1").arg(thr)),
                   nms(fx("nms/boxes"), fx("nms/scores"), std::stod(thr)),
                   fx(std::string("nms/keep_") + thr)));
    QVERIFY(same("nms f64", nms(fx("nms/boxes_f64"), fx("nms/scores_f64"), 0.5), fx("nms/keep_f64_0.5")));
  }

  void batched_nms_both_paths() {
    for (const std::string n : {"500", "1200"})
      for (const std::string thr : {"0.5", "0.7"}) {
        const std::string p = "batched_nms_" + n + "/";
        QVERIFY(same(("batched_nms " + n + " " + thr).c_str(),
                     batched_nms(fx(p + "boxes"), fx(p + "scores"), fx(p + "idxs"), std::stod(thr)),
                     fx(p + "keep_" + thr)));
      }
  }

  void box_coder() {
    for (const auto& [name, w] : {std::pair<std::string, std::array<double, 4>>{"rpn", {1, 1, 1, 1}},
                                  std::pair<std::string, std::array<double, 4>>{"roi", {10, 10, 5, 5}}}) {
      BoxCoder coder(w);
      QVERIFY(close(("encode " + name).c_str(), coder.encode(fx("box_coder/gt"), fx("box_coder/proposals")),
                    fx("box_coder/encode_" + name)));
      QVERIFY(close(("decode " + name).c_str(),
                    coder.decode(fx("box_coder/deltas"), fx("box_coder/proposals")),
                    fx("box_coder/decode_" + name)));
    }
  }

  void anchors_800x1088() {
    AnchorGenerator gen;
    for (int l = 0; l < 5; ++l)
      QVERIFY(same(qPrintable(QString("cell anchors %1").arg(l)), gen.cell_anchors()[l],
                   fx("anchors/cell_" + std::to_string(l))));
    torch::Tensor grid = fx("anchors/grid_sizes");
    std::vector<std::array<int64_t, 2>> grids;
    for (int64_t l = 0; l < grid.size(0); ++l)
      grids.push_back({grid[l][0].item<int64_t>(), grid[l][1].item<int64_t>()});
    torch::Tensor a = gen.anchors({800, 1088}, grids);
    QCOMPARE(a.size(0), fx("anchors/count")[0].item<int64_t>());
    QVERIFY(same("anchor sample", a.index({fx("anchors/sample_rows")}), fx("anchors/sample")));
    QVERIFY(same("anchor tail", a.slice(0, a.size(0) - 30), fx("anchors/tail")));
    torch::Tensor weights = (torch::arange(a.size(0)) % 13 + 1).to(torch::kDouble);
    QVERIFY(same("anchor checksum", (a.to(torch::kDouble) * weights.unsqueeze(1)).sum(0),
                 fx("anchors/checksum")));
  }

  void matcher() {
    QVERIFY(same("matcher rpn", Matcher(0.7, 0.3, true)(fx("matcher/quality")), fx("matcher/rpn")));
    QVERIFY(same("matcher roi", Matcher(0.5, 0.5, false)(fx("matcher/quality")), fx("matcher/roi")));
    QVERIFY(same("matcher low quality", Matcher(0.7, 0.3, true)(fx("matcher/low_quality")),
                 fx("matcher/low_rpn")));
  }

  void sampler_same_draw_as_python() {
    for (const auto& [name, bs, frac] : {std::tuple<std::string, int64_t, double>{"rpn", 256, 0.5},
                                         std::tuple<std::string, int64_t, double>{"roi", 512, 0.25}}) {
      torch::manual_seed(1234);  // the script's seed before drawing
      auto s = BalancedPositiveNegativeSampler(bs, frac)({fx("sampler/labels_a"), fx("sampler/labels_b")});
      QVERIFY(same((name + " pos a").c_str(), s[0].positive, fx("sampler/" + name + "_pos_a")));
      QVERIFY(same((name + " neg a").c_str(), s[0].negative, fx("sampler/" + name + "_neg_a")));
      QVERIFY(same((name + " pos b").c_str(), s[1].positive, fx("sampler/" + name + "_pos_b")));
      QVERIFY(same((name + " neg b").c_str(), s[1].negative, fx("sampler/" + name + "_neg_b")));
    }
  }

  void roi_align_forward_and_backward() {
    torch::Tensor input = fx("roi_align/input"), rois = fx("roi_align/rois"),
                  grad_out = fx("roi_align/grad_out");
    for (bool aligned : {false, true})
      for (int sr : {0, 2}) {
        RoIAlignOptions o;
        o.output_size = {5, 4};
        o.spatial_scale = 0.5;
        o.sampling_ratio = sr;
        o.aligned = aligned;
        const std::string key = "roi_align/a" + std::to_string(aligned ? 1 : 0) + "_s" + std::to_string(sr);
        torch::Tensor x = input.clone().requires_grad_(true);
        torch::Tensor y = roi_align(x, rois, o);
        (y * grad_out).sum().backward();
        QVERIFY(close((key + " forward").c_str(), y.detach(), fx(key + "/out")));
        QVERIFY(close((key + " backward").c_str(), x.grad(), fx(key + "/grad")));
      }
    RoIAlignOptions o;
    o.output_size = {5, 4};
    o.spatial_scale = 0.5;
    o.sampling_ratio = 2;
    QVERIFY(close("roi_align f64", roi_align(input.to(torch::kDouble), rois.to(torch::kDouble), o),
                  fx("roi_align/out_f64_a0_s2")));
  }

  void multi_scale_roi_align_fpn() {
    std::vector<torch::Tensor> feats;
    for (int l = 0; l < 4; ++l) feats.push_back(fx("msroi/feat_" + std::to_string(l)));
    torch::Tensor shapes = fx("msroi/image_shapes");
    std::vector<std::array<int64_t, 2>> sizes;
    for (int64_t i = 0; i < shapes.size(0); ++i)
      sizes.push_back({shapes[i][0].item<int64_t>(), shapes[i][1].item<int64_t>()});
    std::vector<torch::Tensor> boxes{fx("msroi/boxes_a"), fx("msroi/boxes_b")};
    LevelScales setup = setup_level_scales(feats, sizes);
    QVERIFY(same("scales", torch::tensor(setup.scales, torch::kDouble), fx("msroi/scales")));
    QVERIFY(same("levels", setup.mapper(boxes), fx("msroi/levels")));
    MultiScaleRoIAlignOptions o;
    o.output_size = {7, 7};
    o.sampling_ratio = 2;
    QVERIFY(
        close("multi-scale 7x7 sr 2", multi_scale_roi_align(feats, boxes, sizes, o), fx("msroi/out_7_s2")));
    o.output_size = {14, 14};
    o.sampling_ratio = 0;
    QVERIFY(close("multi-scale 14x14 sr 0", multi_scale_roi_align(feats, boxes, sizes, o),
                  fx("msroi/out_14_s0")));
  }

  void paste_masks() {
    QVERIFY(close("paste_masks_in_image", paste_masks_in_image(fx("paste/masks"), fx("paste/boxes"), 50, 70),
                  fx("paste/out_50x70")));
  }
};

QTEST_APPLESS_MAIN(TestDetectionOpsTorchvision)
#include "test_detection_ops_torchvision.moc"
