// Parity of the whole Mask R-CNN with torchvision 0.14 itself: tests/torchvision/
// make_maskrcnn_fixtures.py builds torchvision's maskrcnn_resnet50_fpn (FrozenBatchNorm, seeded and
// calibrated weights, small input sizes to keep CPU time down), runs it on images of several sizes
// and aspect ratios with thresholds lowered so hundreds of detections are compared, and saves every
// stage; CTest runs it first (fixture torchvision_maskrcnn_fixtures). Here the same state dict is
// imported (current and legacy key names, and a BatchNorm2d one) and each stage compared: the
// transform, backbone and FPN features, RPN head outputs, anchors and proposals, box head outputs,
// detections and 28x28 mask probabilities, the final boxes / labels / scores / masks at the
// original size, a two-image batch, and the five training losses and some gradients on a fixed
// batch with torch's generator seeded as in the script (the samplers draw the same permutations).
// torch before Qt: Qt's `slots` macro breaks torch headers.
#include <torch/torch.h>

#include <QtTest>
#include <algorithm>
#include <map>

#include "modeling/meta_arch/mask_rcnn.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"

using namespace studio;

class TestMaskRCNNTorchvision : public QObject {
  Q_OBJECT

  std::map<std::string, torch::Tensor> fx_;
  std::string dir_;
  std::shared_ptr<MaskRCNN> model_;

  torch::Tensor fx(const std::string& name) const {
    auto it = fx_.find(name);
    if (it == fx_.end()) throw std::runtime_error("fixture tensor '" + name + "' missing: regenerate the fixtures");
    return it->second;
  }
  double meta(const std::string& name) const { return fx("meta/" + name).to(torch::kDouble).item<double>(); }

  // |got - want| <= atol + rtol |want| everywhere, with atol relative to the tensor's scale;
  // prints the largest difference.
  static bool close(const std::string& what, const torch::Tensor& got, const torch::Tensor& want, double rtol = 1e-4) {
    if (got.sizes() != want.sizes()) {
      qWarning("%s: shape %s vs torchvision %s", what.c_str(), c10::str(got.sizes()).c_str(),
               c10::str(want.sizes()).c_str());
      return false;
    }
    const torch::Tensor g = got.to(torch::kDouble), w = want.to(torch::kDouble);
    if (g.numel() == 0) return true;
    const double scale = w.abs().max().item<double>();
    const double max_diff = (g - w).abs().max().item<double>();
    qInfo("%s: max |diff| %.3g (scale %.3g) over %lld values%s", what.c_str(), max_diff, scale,
          static_cast<long long>(g.numel()), torch::equal(g, w) ? " (bit-equal)" : "");
    return ((g - w).abs() <= rtol * scale + rtol * w.abs()).all().item<bool>();
  }

  // Proposals and detections come sorted by score; float noise (a different BLAS blocks the
  // convolutions differently) may swap two near-equal scores, or flip an NMS decision on an IoU
  // that sits at the threshold, so rows are paired up regardless of order: row i of ours takes an
  // unused torchvision row with the same box, score (and label) to rtol of their scales, its own
  // place first. Returns the torchvision row of each of ours, -1 where none fits.
  static std::vector<int64_t> pair_rows(const std::string& what, const torch::Tensor& boxes, const torch::Tensor& scores,
                                        const torch::Tensor& labels, const torch::Tensor& want_boxes,
                                        const torch::Tensor& want_scores, const torch::Tensor& want_labels, double rtol) {
    const int64_t n = boxes.size(0), m = want_boxes.size(0);
    std::vector<int64_t> pick(static_cast<size_t>(n), -1);
    if (n == 0 || m == 0) return pick;
    const torch::Tensor b = boxes.to(torch::kDouble), wb = want_boxes.to(torch::kDouble);
    const torch::Tensor s = scores.to(torch::kDouble), ws = want_scores.to(torch::kDouble);
    const double box_tol = rtol * wb.abs().max().item<double>(), score_tol = rtol * ws.abs().max().item<double>();
    // [n, m]: row i of ours against row j of torchvision's.
    torch::Tensor fits = ((b.unsqueeze(1) - wb.unsqueeze(0)).abs().amax(2) <= box_tol) &
                         ((s.unsqueeze(1) - ws.unsqueeze(0)).abs() <= score_tol);
    if (labels.defined()) fits = fits & labels.to(torch::kLong).unsqueeze(1).eq(want_labels.to(torch::kLong).unsqueeze(0));
    const auto f = fits.accessor<bool, 2>();
    std::vector<char> used(static_cast<size_t>(m), 0);
    int64_t unmatched = 0, in_place = 0;
    for (int64_t i = 0; i < n; ++i) {
      int64_t j = i < m && f[i][i] && !used[static_cast<size_t>(i)] ? i : -1;
      for (int64_t k = 0; k < m && j < 0; ++k)
        if (f[i][k] && !used[static_cast<size_t>(k)]) j = k;
      pick[static_cast<size_t>(i)] = j;
      if (j < 0) {
        ++unmatched;
        continue;
      }
      used[static_cast<size_t>(j)] = 1;
      in_place += j == i;
    }
    qInfo("%s: %lld rows (torchvision %lld), %lld in the same place, %lld elsewhere, %lld without a match (boxes to "
          "%.3g, scores to %.3g)",
          what.c_str(), static_cast<long long>(n), static_cast<long long>(m), static_cast<long long>(in_place),
          static_cast<long long>(n - in_place - unmatched), static_cast<long long>(unmatched), box_tol, score_tol);
    return pick;
  }

  // At most 1% of the rows unpaired (an NMS flip changes one row and lets one more in at the cut).
  static bool few_unpaired(const std::vector<int64_t>& pick, int64_t want_rows) {
    const int64_t n = static_cast<int64_t>(pick.size());
    const int64_t unmatched = std::count(pick.begin(), pick.end(), int64_t{-1});
    return std::abs(n - want_rows) <= std::max<int64_t>(1, want_rows / 100) && unmatched <= std::max<int64_t>(1, n / 100);
  }

  static bool close_rows(const std::string& what, const torch::Tensor& boxes, const torch::Tensor& scores,
                         const torch::Tensor& want_boxes, const torch::Tensor& want_scores, double rtol = 1e-4) {
    const auto pick = pair_rows(what, boxes, scores, {}, want_boxes, want_scores, {}, rtol);
    return few_unpaired(pick, want_boxes.size(0));
  }

  static bool same(const std::string& what, const torch::Tensor& got, const torch::Tensor& want) {
    if (got.sizes() != want.sizes() || !torch::equal(got.to(torch::kDouble), want.to(torch::kDouble))) {
      qWarning("%s: differs (shape %s vs %s)", what.c_str(), c10::str(got.sizes()).c_str(),
               c10::str(want.sizes()).c_str());
      return false;
    }
    return true;
  }

  // A batch of raw images (uint8 [H, W, 3] each) as the loader hands them to the model.
  static ImageBatch raw_batch(const std::vector<torch::Tensor>& images) {
    int64_t h = 0, w = 0;
    for (const auto& im : images) h = std::max(h, im.size(0)), w = std::max(w, im.size(1));
    ImageBatch b;
    b.images = torch::zeros({static_cast<int64_t>(images.size()), 3, h, w});
    for (size_t i = 0; i < images.size(); ++i) {
      const auto& im = images[i];
      b.images[static_cast<int64_t>(i)].slice(1, 0, im.size(0)).slice(2, 0, im.size(1)).copy_(
          im.permute({2, 0, 1}).to(torch::kFloat32));
      b.image_sizes.push_back({static_cast<int>(im.size(0)), static_cast<int>(im.size(1))});
      b.original_sizes.push_back(b.image_sizes.back());
      b.image_ids.push_back(static_cast<int64_t>(i));
      b.flipped.push_back(false);
    }
    return b;
  }

  // Final detections against torchvision's: boxes, scores, labels (ours are class indices, its
  // labels index + 1), paired regardless of order as above, and the masks of each pair (its
  // probabilities thresholded at 0.5, as users do).
  bool compare_outputs(const std::string& what, const Instances& got, const std::string& prefix) const {
    // End to end the float differences of 50 layers add up (features agree to a few 1e-6 of their
    // scale; batched convolutions block differently): 1e-3 of the scale here, 1e-4 stage by stage.
    const torch::Tensor want_boxes = fx(prefix + "boxes"), want_scores = fx(prefix + "scores");
    const std::vector<int64_t> pick =
        pair_rows(what, got.boxes, got.scores, got.labels + 1, want_boxes, want_scores, fx(prefix + "labels"), 1e-3);
    bool ok = few_unpaired(pick, want_boxes.size(0));
    // Saved as torchvision's probabilities > 0.5 (uint8), or as the probabilities themselves.
    const torch::Tensor saved = fx(prefix + "masks");
    const torch::Tensor want =
        (saved.is_floating_point() ? saved.gt(0.5) : saved.to(torch::kBool)).reshape({-1, saved.size(-2), saved.size(-1)});
    if (got.masks.size(0) != got.size() || (got.size() > 0 && got.masks.sizes().slice(1) != want.sizes().slice(1))) {
      qWarning("%s masks: shape %s vs %s", what.c_str(), c10::str(got.masks.sizes()).c_str(),
               c10::str(want.sizes()).c_str());
      return false;
    }
    // Pasting truncates the box grown by 30/28 to whole pixels; where float noise in a box puts a grown
    // edge on the other side of an integer, that mask is resized to one pixel more or less (rare:
    // 1 of the 577 pairs of these fixtures once BatchNorm was folded into the convolutions; at most 1
    // in 10 is allowed).
    const auto grown_edges = [](const torch::Tensor& box) {
      const torch::Tensor b = box.to(torch::kFloat);
      const torch::Tensor half = (b.slice(0, 2, 4) - b.slice(0, 0, 2)) * 0.5f * (30.f / 28.f);
      const torch::Tensor centre = (b.slice(0, 2, 4) + b.slice(0, 0, 2)) * 0.5f;
      return torch::cat({centre - half, centre + half}).to(torch::kLong);
    };
    int64_t differ = 0, on = 0, shifted = 0, shifted_differ = 0;
    bool shifted_ok = true;
    for (size_t i = 0; i < pick.size(); ++i) {
      if (pick[i] < 0) continue;
      const torch::Tensor w = want[pick[i]];
      const int64_t d = (got.masks[static_cast<int64_t>(i)] != w).sum().item<int64_t>();
      on += w.sum().item<int64_t>();
      const torch::Tensor mine = grown_edges(got.boxes[static_cast<int64_t>(i)]),
                          theirs = grown_edges(want_boxes[pick[i]]);
      if (torch::equal(mine, theirs)) {
        differ += d;
        continue;
      }
      ++shifted;
      shifted_differ += d;
      const torch::Tensor size = theirs.slice(0, 2, 4) - theirs.slice(0, 0, 2) + 1;
      // The mask is resampled to a box one pixel wider or taller: its contours move by up to a pixel.
      // At most half the box's pixels (thin shapes have long contours).
      const int64_t area = size.prod().item<int64_t>();
      qInfo("  pair %lld: grown box height/width %lld x %lld, a pixel over; %lld of its %lld pixels differ",
            static_cast<long long>(i), static_cast<long long>(size[1].item<int64_t>()),
            static_cast<long long>(size[0].item<int64_t>()), static_cast<long long>(d), static_cast<long long>(area));
      shifted_ok = shifted_ok && 2 * d <= area;
    }
    qInfo("%s: %lld detections, %lld mask pixels of the pairs, %lld differ; %lld pairs pasted a pixel over "
          "(a grown box edge on the other side of an integer), %lld pixels differ there",
          what.c_str(), static_cast<long long>(got.size()), static_cast<long long>(on), static_cast<long long>(differ),
          static_cast<long long>(shifted), static_cast<long long>(shifted_differ));
    // A pixel whose probability sits at 0.5 within float rounding may flip; nothing more.
    return ok && shifted_ok && shifted * 10 <= std::max<int64_t>(1, got.size()) &&
           differ <= std::max<int64_t>(1, on / 100000);
  }

 private slots:
  void initTestCase() {
    const char* dir = std::getenv("STUDIO_TV_FIXTURES");
    QVERIFY2(dir && *dir,
             "STUDIO_TV_FIXTURES is not set: run through ctest (which runs tests/torchvision/"
             "make_maskrcnn_fixtures.py first) or set it to the folder the script wrote");
    dir_ = dir;
    const std::string path = dir_ + "/maskrcnn.pt";
    QVERIFY2(QFileInfo::exists(QString::fromStdString(path)),
             qPrintable(QString("%1 missing: the fixture script did not run").arg(QString::fromStdString(path))));
    for (auto& e : read_pth(path)) fx_[e.name] = e.tensor;
    at::set_num_threads(2);

    MaskRCNNOptions o;
    o.num_classes = 90;
    o.backbone.type = "resnet50";
    o.backbone.norm_eps = meta("norm_eps");
    o.neck.layout = "torchvision";
    o.transform.min_size = {static_cast<int>(meta("min_size"))};
    o.transform.max_size = static_cast<int>(meta("max_size"));
    o.rpn.pre_nms_top_n_test = static_cast<int>(meta("rpn_pre_nms_top_n_test"));
    o.rpn.post_nms_top_n_test = static_cast<int>(meta("rpn_post_nms_top_n_test"));
    o.roi_heads.score_thresh = meta("box_score_thresh");
    o.roi_heads.nms_thresh = meta("box_nms_thresh");
    o.roi_heads.detections_per_img = static_cast<int64_t>(meta("detections_per_img"));
    // Training settings the script used (the RoI batch is 128, not 512, to keep its time down).
    o.rpn.pre_nms_top_n_train = static_cast<int>(meta("rpn_pre_nms_top_n_train"));
    o.rpn.post_nms_top_n_train = static_cast<int>(meta("rpn_post_nms_top_n_train"));
    o.rpn.batch_size_per_image = static_cast<int>(meta("rpn_batch_size_per_image"));
    o.rpn.positive_fraction = meta("rpn_positive_fraction");
    o.roi_heads.batch_size_per_image = static_cast<int>(meta("box_batch_size_per_image"));
    o.roi_heads.positive_fraction = meta("box_positive_fraction");
    model_ = std::make_shared<MaskRCNN>(o);
    const ImportReport report = import_entries(*model_, read_pth(dir_ + "/maskrcnn_tv.pth"), "maskrcnn_resnet50_fpn");
    QVERIFY2(report.ok() && report.unexpected.empty(), report.summary().c_str());
    QCOMPARE(report.matched.size(), size_t{307});
    model_->eval();
  }

  void legacy_and_batchnorm_files_import_the_same() {
    auto legacy = std::make_shared<MaskRCNN>(model_->options());
    const StateDictEntries entries = read_pth(dir_ + "/maskrcnn_tv_legacy.pth");
    QVERIFY(has_legacy_mask_rcnn_keys(entries));
    const ImportReport r = import_entries(*legacy, entries, "maskrcnn_resnet50_fpn");
    QVERIFY2(r.ok() && r.unexpected.empty(), r.summary().c_str());
    const auto ours = model_->named_parameters();
    for (const auto& p : legacy->named_parameters()) QVERIFY2(torch::equal(p.value(), ours[p.key()]), p.key().c_str());
    // model.state_dict() of a BatchNorm2d build: num_batches_tracked dropped, every key placed.
    auto bn = std::make_shared<MaskRCNN>(model_->options());
    const ImportReport rb = import_entries(*bn, read_pth(dir_ + "/maskrcnn_tv_bn.pth"), "maskrcnn_resnet50_fpn");
    QVERIFY2(rb.ok() && rb.unexpected.empty(), rb.summary().c_str());
    QVERIFY(!rb.dropped.empty());
  }

  void each_stage_of_single_images() {
    model_->eval();
    torch::NoGradGuard no_grad;
    for (int k = 0; fx_.count("img" + std::to_string(k) + "/image"); ++k) {
      const std::string p = "img" + std::to_string(k) + "/";
      const ImageBatch batch = model_->transform(raw_batch({fx(p + "image")}), nullptr).first;
      QVERIFY(close(p + "batched", batch.images, fx(p + "batched"), 1e-6));
      QCOMPARE(int64_t{batch.image_sizes[0][0]}, fx(p + "image_size")[0].item<int64_t>());
      QCOMPARE(int64_t{batch.image_sizes[0][1]}, fx(p + "image_size")[1].item<int64_t>());
      // The rest from torchvision's own batch, so each stage is compared on the same input.
      const torch::Tensor images = fx(p + "batched");
      const std::vector<torch::Tensor> body = model_->backbone->body->forward(images);
      for (int l = 0; l < 4; ++l)
        QVERIFY(close(p + "body/" + std::to_string(l), body[static_cast<size_t>(l)], fx(p + "body/" + std::to_string(l))));
      const std::vector<torch::Tensor> features = model_->backbone->fpn->forward(body);
      const char* names[] = {"0", "1", "2", "3", "pool"};
      for (int l = 0; l < 5; ++l)
        QVERIFY(close(p + "fpn/" + names[l], features[static_cast<size_t>(l)], fx(p + "fpn/" + names[l])));

      const auto [objectness, deltas] = model_->rpn->head->forward(features);
      for (int l = 0; l < 5; ++l) {
        QVERIFY(close(p + "rpn/objectness/" + std::to_string(l), objectness[static_cast<size_t>(l)],
                      fx(p + "rpn/objectness/" + std::to_string(l))));
        QVERIFY(close(p + "rpn/deltas/" + std::to_string(l), deltas[static_cast<size_t>(l)],
                      fx(p + "rpn/deltas/" + std::to_string(l))));
      }
      ImageBatch tv_batch = batch;
      tv_batch.images = images;
      const auto sizes = batch_image_sizes(tv_batch);
      QVERIFY(same(p + "rpn/anchors", model_->rpn->anchor_generator().forward(images, features)[0], fx(p + "rpn/anchors")));
      const Proposals proposals = model_->rpn->forward(images, sizes, features, nullptr, nullptr);
      QVERIFY(close_rows(p + "rpn/proposals", proposals.boxes[0], proposals.scores[0], fx(p + "rpn/proposals"),
                         fx(p + "rpn/proposal_scores")));

      const std::vector<torch::Tensor> tv_proposals{fx(p + "rpn/proposals")};
      const std::vector<torch::Tensor> levels(features.begin(), features.begin() + 4);
      const auto [logits, regression] = model_->roi_heads->box_outputs(levels, tv_proposals, sizes);
      QVERIFY(close(p + "box/class_logits", logits, fx(p + "box/class_logits")));
      QVERIFY(close(p + "box/box_regression", regression, fx(p + "box/box_regression")));

      const std::vector<RoIDetections> dets = model_->roi_heads->forward(features, tv_proposals, sizes, nullptr, nullptr);
      QVERIFY(same(p + "det/labels", dets[0].labels, fx(p + "det/labels")));
      QVERIFY(close(p + "det/boxes", dets[0].boxes, fx(p + "det/boxes")));
      QVERIFY(close(p + "det/scores", dets[0].scores, fx(p + "det/scores")));
      QVERIFY(close(p + "det/mask_probs", dets[0].mask_probs, fx(p + "det/mask_probs")));
      QVERIFY2(dets[0].labels.size(0) >= 100, "fewer detections than the fixture promises");

      // End to end from the raw image.
      const std::vector<Instances> out = model_->predict(raw_batch({fx(p + "image")}));
      QVERIFY(compare_outputs(p + "out", out[0], p + "out/"));
    }
  }

  void two_image_batch() {
    model_->eval();
    torch::NoGradGuard no_grad;
    const ImageBatch raw = raw_batch({fx("img0/image"), fx("img1/image")});
    QVERIFY(close("batch2/batched", model_->transform(raw, nullptr).first.images, fx("batch2/batched"), 1e-6));
    const std::vector<Instances> out = model_->predict(raw);
    for (int i = 0; i < 2; ++i)
      QVERIFY(compare_outputs("batch2/out" + std::to_string(i), out[static_cast<size_t>(i)],
                              "batch2/out" + std::to_string(i) + "/"));
  }

  void training_losses_and_gradients() {
    model_->train();
    ImageBatch batch;
    batch.images = fx("train/batched");
    std::vector<InstanceTargets> targets;
    for (int i = 0; i < 2; ++i) {
      const std::string t = "train/target" + std::to_string(i) + "/";
      const torch::Tensor size = fx("train/image_size" + std::to_string(i));
      batch.image_sizes.push_back({static_cast<int>(size[0].item<int64_t>()), static_cast<int>(size[1].item<int64_t>())});
      batch.original_sizes.push_back(batch.image_sizes.back());
      batch.image_ids.push_back(i);
      batch.flipped.push_back(false);
      InstanceTargets target;
      target.boxes = fx(t + "boxes");
      target.labels = fx(t + "labels") - 1;
      const torch::Tensor m = fx(t + "masks");
      target.masks = torch::constant_pad_nd(m, {0, batch.images.size(3) - m.size(2), 0, batch.images.size(2) - m.size(1)}, 0);
      targets.push_back(target);
    }
    // The whole step as the trainer runs it: the RPN's losses equal torchvision's; its 2000
    // training proposals agree but for float noise, which can reorder near-ties at the top-n and
    // NMS cut-offs, so the RoI losses are compared from torchvision's proposals below.
    torch::manual_seed(fx("train/seed").item<int64_t>());
    const LossTerms whole = model_->losses_transformed(batch, targets);
    QCOMPARE(whole.size(), size_t{5});
    QVERIFY(close("train/whole/loss_objectness", whole[3].second, fx("train/loss/loss_objectness"), 1e-4));
    QVERIFY(close("train/whole/loss_rpn_box_reg", whole[4].second, fx("train/loss/loss_rpn_box_reg"), 1e-4));
    for (int i = 0; i < 3; ++i)
      qInfo("train/whole/%s: %.6f, torchvision %.6f", whole[static_cast<size_t>(i)].first.c_str(),
            whole[static_cast<size_t>(i)].second.item<double>(),
            fx("train/loss/" + whole[static_cast<size_t>(i)].first).item<double>());

    // Stage by stage: the same generator draws (RPN sampler, then RoI sampler), the RoI heads on
    // torchvision's proposals.
    torch::manual_seed(fx("train/seed").item<int64_t>());
    const auto sizes = batch_image_sizes(batch);
    const std::vector<torch::Tensor> features = model_->backbone->forward(batch.images);
    LossTerms losses;
    const Proposals proposals = model_->rpn->forward(batch.images, sizes, features, &targets, &losses);
    std::vector<torch::Tensor> tv_proposals;
    for (int i = 0; i < 2; ++i) {
      tv_proposals.push_back(fx("train/proposals" + std::to_string(i)));
      const torch::Tensor& ours = proposals.boxes[static_cast<size_t>(i)];
      const int64_t n = std::min(ours.size(0), tv_proposals.back().size(0));
      const int64_t rows_differ =
          ((ours.slice(0, 0, n) - tv_proposals.back().slice(0, 0, n)).abs().amax(1) > 1e-2).sum().item<int64_t>();
      qInfo("train/proposals%d: %lld and %lld proposals, %lld of the first %lld differ by > 0.01 px", i,
            static_cast<long long>(ours.size(0)), static_cast<long long>(tv_proposals.back().size(0)),
            static_cast<long long>(rows_differ), static_cast<long long>(n));
    }
    model_->roi_heads->forward(features, tv_proposals, sizes, &targets, &losses);
    std::rotate(losses.begin(), losses.begin() + 2, losses.end());  // torchvision's order: heads, then RPN
    torch::Tensor total = torch::zeros({});
    bool ok = true;
    for (const auto& [name, value] : losses) {
      ok = close("train/" + name, value, fx("train/loss/" + name), 1e-4) && ok;
      total = total + value;
    }
    QCOMPARE(losses.size(), size_t{5});
    QVERIFY(ok);
    model_->zero_grad();
    try {
      total.backward();
    } catch (const std::exception& e) {
      QFAIL(e.what());
    }
    const auto params = model_->named_parameters();
    for (const char* key : {"roi_heads.mask_predictor.mask_fcn_logits.weight", "roi_heads.box_predictor.cls_score.weight",
                            "rpn.head.cls_logits.weight", "backbone.fpn.layer_blocks.0.0.weight",
                            "backbone.body.layer4.2.conv3.weight"})
      QVERIFY(close(std::string("grad/") + key, params[key].grad(), fx(std::string("train/grad/") + key), 1e-3));
    model_->eval();
  }
};

QTEST_GUILESS_MAIN(TestMaskRCNNTorchvision)
#include "test_mask_rcnn_torchvision.moc"
