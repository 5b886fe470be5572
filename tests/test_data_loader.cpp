// The data pipeline: mmdetection's resize rule on hand-computed sizes, padding, normalisation,
// flips that move boxes and masks together, masks that follow resizing (polygons and RLE),
// reproducible batches whatever the thread timing, sharding, the training filters (images without
// usable annotations, crowd regions), errors naming the image file, early stops; and the datasets
// a recipe names (data.train / data.val).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "data/coco_io.h"
#include "data/image_io.h"
#include "data/image_transforms.h"
#include "data/rle.h"
#include "data/shapes_generator.h"
#include "engine/data_loader.h"
#include "engine/dataset_from_recipe.h"
#include "test_support.h"

using namespace studio;

class TestDataLoader : public QObject {
  Q_OBJECT

 private slots:
  void rescale_size_rule_data();
  void rescale_size_rule();
  void pads_and_normalises();
  void flip_moves_box_and_mask();
  void rle_mask_follows_resize();
  void shapes_masks_agree_with_boxes();
  void same_seed_same_batches();
  void resume_mid_epoch();
  void sharding_partitions();
  void training_filters_and_crowd();
  void unreadable_image_names_file();
  void early_stop_does_not_hang();
  void input_options();
  void recipe_datasets();
  void recipe_dataset_errors();
};

namespace {

// A uniform RGB image file (PNG: exact pixels).
void write_uniform(const std::string& path, int w, int h, std::array<std::uint8_t, 3> rgb) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = rgb[i % 3];
  write_rgb_image(path, px.data(), w, h);
}

Annotation box_annotation(std::int64_t id, std::int64_t image, std::int64_t cat, std::array<double, 4> xywh) {
  Annotation a;
  a.id = id;
  a.image_id = image;
  a.category_id = cat;
  a.bbox = xywh;
  a.area = xywh[2] * xywh[3];
  // The box as a polygon, so the dataset has masks.
  const double x = xywh[0], y = xywh[1], X = x + xywh[2], Y = y + xywh[3];
  a.polygons = {{x, y, X, y, X, Y, x, Y}};
  return a;
}

std::shared_ptr<Dataset> shapes(const QTemporaryDir& dir, int images, int size, std::uint64_t seed = 1) {
  ShapesOptions o;
  o.out_dir = dir.filePath("shapes").toStdString();
  o.images = images;
  o.size = size;
  o.seed = seed;
  return std::make_shared<Dataset>(generate_shapes(o));
}

std::vector<Batch> whole_epoch(DataLoader& loader, int epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

std::vector<std::int64_t> ids_of(const std::vector<Batch>& batches) {
  std::vector<std::int64_t> ids;
  for (const Batch& b : batches) ids.insert(ids.end(), b.images.image_ids.begin(), b.images.image_ids.end());
  return ids;
}

// Tight box of mask k of a [N, H, W] uint8 tensor.
std::array<float, 4> tight_box(const torch::Tensor& masks, std::int64_t k) {
  const torch::Tensor m = masks[k].contiguous();
  return mask_tight_box(m.data_ptr<std::uint8_t>(), static_cast<int>(m.size(1)), static_cast<int>(m.size(0)),
                        static_cast<std::size_t>(m.size(1)));
}

float normalised(int value, int channel) {
  const float mean[3] = {123.675f, 116.28f, 103.53f}, stdv[3] = {58.395f, 57.12f, 57.375f};
  return (value - mean[channel]) / stdv[channel];
}

}  // namespace

void TestDataLoader::rescale_size_rule_data() {
  QTest::addColumn<int>("w");
  QTest::addColumn<int>("h");
  QTest::addColumn<int>("short_side");
  QTest::addColumn<int>("long_side");
  QTest::addColumn<int>("want_w");
  QTest::addColumn<int>("want_h");
  // f = min(long / max(w, h), short / min(w, h)); size int(w f + 0.5) x int(h f + 0.5).
  QTest::newRow("500x375 -> short") << 500 << 375 << 800 << 1333 << 1067 << 800;  // f = 800/375, 1066.67
  QTest::newRow("640x480") << 640 << 480 << 800 << 1333 << 1067 << 800;           // f = 5/3, 1066.67
  QTest::newRow("portrait 427x640") << 427 << 640 << 800 << 1333 << 800 << 1199;  // f = 800/427, 1199.06
  QTest::newRow("wide 2000x500 -> long") << 2000 << 500 << 800 << 1333 << 1333 << 333;  // f = .6665, 333.25
  QTest::newRow("down 300x200") << 300 << 200 << 256 << 256 << 256 << 171;              // f = 256/300, 170.67
  QTest::newRow("same 256x256") << 256 << 256 << 256 << 256 << 256 << 256;
  QTest::newRow("half rounds up 3x2") << 3 << 2 << 1 << 5 << 2 << 1;  // f = 0.5: 1.5 -> 2
}

void TestDataLoader::rescale_size_rule() {
  QFETCH(int, w);
  QFETCH(int, h);
  QFETCH(int, short_side);
  QFETCH(int, long_side);
  QFETCH(int, want_w);
  QFETCH(int, want_h);
  const ImageSize s = rescale_size({w, h}, short_side, long_side);
  QCOMPARE(s.width, want_w);
  QCOMPARE(s.height, want_h);
}

void TestDataLoader::pads_and_normalises() {
  QTemporaryDir dir;
  auto ds = std::make_shared<Dataset>();
  ds->image_root = dir.path().toStdString();
  ds->categories = {{1, "thing", ""}};
  write_uniform(dir.filePath("a.png").toStdString(), 50, 40, {10, 200, 30});
  write_uniform(dir.filePath("b.png").toStdString(), 30, 70, {255, 0, 128});
  ds->images = {{11, "a.png", 50, 40}, {12, "b.png", 30, 70}};
  InputOptions in;
  in.short_sides = {100};
  in.long_side = 1000;
  LoaderOptions lo;
  lo.train = false;
  lo.batch_size = 2;
  lo.workers = 1;
  DataLoader loader(ds, in, lo);
  QCOMPARE(loader.batches_per_epoch(), std::size_t(1));
  auto batches = whole_epoch(loader, 0);
  QCOMPARE(batches.size(), std::size_t(1));
  const ImageBatch& b = batches[0].images;
  // a: f = min(1000/50, 100/40) = 2.5 -> 125x100; b: f = min(1000/70, 100/30) -> 100x233.
  // Padded to the batch maximum 125x233 rounded up to 32: 128x256.
  QCOMPARE(b.images.sizes().vec(), (std::vector<std::int64_t>{2, 3, 256, 128}));
  QVERIFY((b.image_sizes == std::vector<std::array<int, 2>>{{100, 125}, {233, 100}}));
  QVERIFY((b.original_sizes == std::vector<std::array<int, 2>>{{40, 50}, {70, 30}}));
  QVERIFY((b.image_ids == std::vector<std::int64_t>{11, 12}));
  QVERIFY((b.flipped == std::vector<bool>{false, false}));
  QVERIFY(batches[0].targets.empty());
  // (10 - 123.675) / 58.395 = -1.94666...; (200 - 116.28) / 57.12 = 1.46569...; 255 -> 2.245...
  const auto at = [&](int i, int c, int y, int x) { return b.images[i][c][y][x].item<float>(); };
  QVERIFY(std::fabs(at(0, 0, 50, 60) - (-1.946657f)) < 1e-5);
  QVERIFY(std::fabs(at(0, 1, 99, 124) - 1.465686f) < 1e-5);
  QVERIFY(std::fabs(at(1, 0, 232, 0) - normalised(255, 0)) < 1e-6);
  QVERIFY(std::fabs(at(1, 2, 0, 99) - normalised(128, 2)) < 1e-6);
  // Padding is exactly 0 after normalising: right of a (x >= 125), below a (y >= 100), below b.
  QCOMPARE(b.images[0].slice(1, 0, 100).slice(2, 125).abs().max().item<float>(), 0.f);
  QCOMPARE(b.images[0].slice(1, 100).abs().max().item<float>(), 0.f);
  QCOMPARE(b.images[1].slice(1, 233).abs().max().item<float>(), 0.f);
  QCOMPARE(b.images[1].slice(2, 100).abs().max().item<float>(), 0.f);
}

void TestDataLoader::flip_moves_box_and_mask() {
  QTemporaryDir dir;
  auto ds = std::make_shared<Dataset>();
  ds->image_root = dir.path().toStdString();
  ds->categories = {{5, "thing", ""}};
  // Left half red, right half blue, so the flip of the pixels shows too.
  std::vector<std::uint8_t> px(100 * 60 * 3);
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 100; ++x) {
      std::uint8_t* p = &px[(y * 100 + x) * 3];
      p[0] = x < 50 ? 255 : 0;
      p[2] = x < 50 ? 0 : 255;
    }
  write_rgb_image(dir.filePath("a.png").toStdString(), px.data(), 100, 60);
  ds->images = {{1, "a.png", 100, 60}};
  ds->annotations = {box_annotation(1, 1, 5, {10, 10, 30, 20})};
  InputOptions in;
  in.short_sides = {60};
  in.long_side = 100;  // f = 1: the flip alone moves things
  LoaderOptions lo;
  lo.batch_size = 1;
  lo.workers = 2;
  for (double flip : {0.0, 1.0}) {
    in.flip = flip;
    DataLoader loader(ds, in, lo);
    auto batches = whole_epoch(loader, 0);
    QCOMPARE(batches.size(), std::size_t(1));
    const Batch& b = batches[0];
    QCOMPARE(b.images.flipped[0], flip > 0);
    const InstanceTargets& t = b.targets[0];
    QCOMPARE(t.size(), std::int64_t(1));
    QCOMPARE(t.labels[0].item<std::int64_t>(), std::int64_t(0));
    QCOMPARE(t.masks.sizes().vec(), (std::vector<std::int64_t>{1, 64, 128}));
    // Unflipped [10, 10, 40, 30]; flipped x1' = 100 - 40, x2' = 100 - 10.
    const std::array<float, 4> want =
        flip > 0 ? std::array<float, 4>{60, 10, 90, 30} : std::array<float, 4>{10, 10, 40, 30};
    const std::array<float, 4> box{t.boxes[0][0].item<float>(), t.boxes[0][1].item<float>(),
                                   t.boxes[0][2].item<float>(), t.boxes[0][3].item<float>()};
    QVERIFY(box == want);
    const std::array<float, 4> mbox = tight_box(t.masks, 0);
    for (int k = 0; k < 4; ++k)
      QVERIFY2(std::fabs(mbox[k] - want[k]) <= 1, qPrintable(QString::number(mbox[k])));
    QCOMPARE(t.masks[0].sum().item<std::int64_t>(), std::int64_t(30 * 20));
    // Pixel x = 5 is red unflipped, blue flipped.
    const float red = b.images.images[0][0][30][5].item<float>();
    QVERIFY(std::fabs(red - normalised(flip > 0 ? 0 : 255, 0)) < 1e-5);
  }
}

void TestDataLoader::rle_mask_follows_resize() {
  QTemporaryDir dir;
  auto ds = std::make_shared<Dataset>();
  ds->image_root = dir.path().toStdString();
  ds->categories = {{1, "thing", ""}};
  write_uniform(dir.filePath("a.png").toStdString(), 20, 10, {1, 2, 3});
  ds->images = {{1, "a.png", 20, 10}};
  // Mask: x 4..7, y 2..5 (a 4x4 block), as RLE.
  std::vector<std::uint8_t> m(20 * 10, 0);
  for (int y = 2; y < 6; ++y)
    for (int x = 4; x < 8; ++x) m[y * 20 + x] = 1;
  Annotation a;
  a.id = 1;
  a.image_id = 1;
  a.category_id = 1;
  a.bbox = {4, 2, 4, 4};
  a.area = 16;
  a.rle = rle_encode(m.data(), 10, 20);
  ds->annotations = {a};
  InputOptions in;
  in.short_sides = {20};
  in.long_side = 40;  // f = 2: 40x20, nearest neighbour doubles every pixel
  LoaderOptions lo;
  lo.batch_size = 1;
  lo.workers = 0;
  for (double flip : {0.0, 1.0}) {
    in.flip = flip;
    DataLoader loader(ds, in, lo);
    auto batches = whole_epoch(loader, 0);
    const InstanceTargets& t = batches[0].targets[0];
    // Box [8, 4, 16, 12]; flipped in a 40-wide image: [24, 4, 32, 12].
    const std::array<float, 4> want =
        flip > 0 ? std::array<float, 4>{24, 4, 32, 12} : std::array<float, 4>{8, 4, 16, 12};
    QVERIFY(tight_box(t.masks, 0) == want);
    QCOMPARE(t.masks[0].sum().item<std::int64_t>(), std::int64_t(64));
    QCOMPARE(t.boxes[0][0].item<float>(), want[0]);
    QCOMPARE(t.boxes[0][2].item<float>(), want[2]);
  }
}

void TestDataLoader::shapes_masks_agree_with_boxes() {
  QTemporaryDir dir;
  auto ds = shapes(dir, 6, 96);
  InputOptions in;
  in.short_sides = {150};  // f = 150/96 = 1.5625
  in.long_side = 150;
  in.flip = 0.5;
  LoaderOptions lo;
  lo.batch_size = 3;
  lo.workers = 2;
  lo.seed = 4;
  DataLoader loader(ds, in, lo);
  int checked = 0, flipped = 0;
  for (const Batch& b : whole_epoch(loader, 0)) {
    QCOMPARE(b.images.images.size(2), std::int64_t(160));
    for (std::size_t i = 0; i < b.targets.size(); ++i) {
      flipped += b.images.flipped[i];
      const InstanceTargets& t = b.targets[i];
      // Targets are the image's annotations in dataset order (shapes has no crowd regions).
      std::vector<const Annotation*> anns;
      for (const Annotation& a : ds->annotations)
        if (a.image_id == b.images.image_ids[i]) anns.push_back(&a);
      QCOMPARE(t.size(), static_cast<std::int64_t>(anns.size()));
      ImageTransform tr;
      tr.original = {96, 96};
      tr.resized = {150, 150};
      tr.flipped = b.images.flipped[i];
      for (std::int64_t k = 0; k < t.size(); ++k) {
        const std::array<float, 4> mbox = tight_box(t.masks, k);
        // The mask lies inside its box (a polygon's thin tips may reach past the pixel centres
        // the rasteriser samples, so the box can be larger than the mask, never smaller)...
        QVERIFY(mbox[0] >= t.boxes[k][0].item<float>() - 1 && mbox[1] >= t.boxes[k][1].item<float>() - 1);
        QVERIFY(mbox[2] <= t.boxes[k][2].item<float>() + 1 && mbox[3] <= t.boxes[k][3].item<float>() + 1);
        // ...and covers what the same mask covers at the original size, scaled and mirrored.
        const Rle original = rle_from_polygons(anns[static_cast<std::size_t>(k)]->polygons, 96, 96);
        const std::array<float, 4> want = transform_box(rle_bbox(original), tr);
        for (int c = 0; c < 4; ++c)
          QVERIFY2(
              std::fabs(mbox[c] - want[c]) <= 2.0f,
              qPrintable(
                  QString("coord %1: mask %2, original mask scaled %3").arg(c).arg(mbox[c]).arg(want[c])));
        ++checked;
      }
    }
  }
  QVERIFY(checked >= 6);
  QVERIFY(flipped > 0 && flipped < 6);  // seed 4 flips some, not all (fixed by the seed)
}

void TestDataLoader::same_seed_same_batches() {
  QTemporaryDir dir;
  auto ds = shapes(dir, 12, 64);
  InputOptions in;
  in.short_sides = {48, 64};
  in.long_side = 64;
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.seed = 7;
  lo.workers = 3;
  DataLoader a(ds, in, lo);
  lo.workers = 0;  // same batches with no threads at all
  DataLoader b(ds, in, lo);
  const auto ea = whole_epoch(a, 3), eb = whole_epoch(b, 3);
  QCOMPARE(ea.size(), std::size_t(3));
  QCOMPARE(eb.size(), ea.size());
  std::set<int> sizes;
  for (std::size_t i = 0; i < ea.size(); ++i) {
    QVERIFY(ea[i].images.image_ids == eb[i].images.image_ids);
    QVERIFY(ea[i].images.flipped == eb[i].images.flipped);
    QVERIFY(ea[i].images.image_sizes == eb[i].images.image_sizes);
    QVERIFY(torch::equal(ea[i].images.images, eb[i].images.images));
    for (std::size_t k = 0; k < ea[i].targets.size(); ++k) {
      QVERIFY(torch::equal(ea[i].targets[k].boxes, eb[i].targets[k].boxes));
      QVERIFY(torch::equal(ea[i].targets[k].masks, eb[i].targets[k].masks));
    }
    for (const auto& s : ea[i].images.image_sizes) sizes.insert(s[0]);
  }
  QVERIFY(sizes.count(48) && sizes.count(64));  // both scales drawn
  const auto ids3 = ids_of(ea);
  std::vector<std::int64_t> sorted = ids3;
  std::sort(sorted.begin(), sorted.end());
  QCOMPARE(std::set<std::int64_t>(ids3.begin(), ids3.end()).size(), std::size_t(12));  // a permutation
  QVERIFY(ids3 != sorted);                                                             // shuffled
  QVERIFY(ids_of(whole_epoch(a, 4)) != ids3);  // another epoch, another order
  QVERIFY(ids_of(whole_epoch(a, 3)) == ids3);  // and back
}

void TestDataLoader::resume_mid_epoch() {
  QTemporaryDir dir;
  auto ds = shapes(dir, 10, 48);
  InputOptions in;
  in.short_sides = {48};
  in.long_side = 48;
  LoaderOptions lo;
  lo.batch_size = 3;
  lo.workers = 2;
  lo.drop_last = true;
  DataLoader loader(ds, in, lo);
  QCOMPARE(loader.batches_per_epoch(), std::size_t(3));
  QCOMPARE(loader.samples_per_epoch(), std::size_t(9));
  const auto full = whole_epoch(loader, 2);
  QCOMPARE(full.size(), std::size_t(3));
  loader.start_epoch(2, 1);
  std::vector<Batch> rest;
  while (auto b = loader.next()) rest.push_back(std::move(*b));
  QCOMPARE(rest.size(), std::size_t(2));
  QVERIFY(rest[0].images.image_ids == full[1].images.image_ids);
  QVERIFY(torch::equal(rest[1].images.images, full[2].images.images));
}

void TestDataLoader::sharding_partitions() {
  QTemporaryDir dir;
  auto ds = shapes(dir, 10, 64);
  std::set<std::int64_t> annotated;
  for (const Annotation& a : ds->annotations) annotated.insert(a.image_id);
  QCOMPARE(annotated.size(), std::size_t(10));  // every image has something to train on
  InputOptions in;
  in.short_sides = {32};
  in.long_side = 32;
  LoaderOptions lo;
  lo.batch_size = 2;
  lo.world_size = 3;
  lo.seed = 3;
  // Training: 10 samples over 3 ranks -> 4 each, padded with the first 2 of the shuffled order.
  std::vector<std::vector<std::int64_t>> per_rank;
  for (int r = 0; r < 3; ++r) {
    lo.rank = r;
    DataLoader loader(ds, in, lo);
    QCOMPARE(loader.samples_per_epoch(), std::size_t(4));
    QCOMPARE(loader.batches_per_epoch(), std::size_t(2));
    per_rank.push_back(ids_of(whole_epoch(loader, 5)));
    QCOMPARE(per_rank.back().size(), std::size_t(4));
  }
  // Interleaving the ranks gives the shuffled order back: sample i went to rank i % 3.
  std::vector<std::int64_t> order;
  for (std::size_t i = 0; i < 12; ++i) order.push_back(per_rank[i % 3][i / 3]);
  QCOMPARE(std::set<std::int64_t>(order.begin(), order.begin() + 10).size(), std::size_t(10));
  QCOMPARE(order[10], order[0]);
  QCOMPARE(order[11], order[1]);
  // Inference: dataset order, no padding: 4 + 3 + 3, disjoint.
  lo.train = false;
  std::vector<std::int64_t> all;
  for (int r = 0; r < 3; ++r) {
    lo.rank = r;
    DataLoader loader(ds, in, lo);
    const auto ids = ids_of(whole_epoch(loader, 0));
    QCOMPARE(ids.size(), std::size_t(r == 0 ? 4 : 3));
    QCOMPARE(loader.samples_per_epoch(), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) QCOMPARE(ids[i], ds->images[r + 3 * i].id);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  QCOMPARE(std::set<std::int64_t>(all.begin(), all.end()).size(), std::size_t(10));
}

void TestDataLoader::training_filters_and_crowd() {
  QTemporaryDir dir;
  for (const char* name : {"1.png", "2.png", "3.png"})
    write_uniform(dir.filePath(name).toStdString(), 40, 30, {9, 9, 9});
  // Image 1: a usable dog and a crowd cat; image 2: only a crowd region; image 3: nothing.
  // Categories listed 7 then 3, so id 3 is class index 1.
  const std::string json = R"({
"images": [{"id": 1, "file_name": "1.png", "width": 40, "height": 30},
           {"id": 2, "file_name": "2.png", "width": 40, "height": 30},
           {"id": 3, "file_name": "3.png", "width": 40, "height": 30}],
"categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
"annotations": [
 {"id": 1, "image_id": 1, "category_id": 3, "bbox": [2, 3, 10, 12], "segmentation": [[2, 3, 12, 3, 12, 15, 2, 15]], "area": 120, "iscrowd": 0},
 {"id": 2, "image_id": 1, "category_id": 7, "bbox": [20, 5, 10, 10], "segmentation": {"size": [30, 40], "counts": [800, 10, 390]}, "area": 10, "iscrowd": 1},
 {"id": 3, "image_id": 2, "category_id": 7, "bbox": [0, 0, 40, 30], "segmentation": {"size": [30, 40], "counts": [0, 1200]}, "area": 1200, "iscrowd": 1}
]})";
  auto ds = std::make_shared<Dataset>(parse_coco(json, "tiny.json", dir.path().toStdString()));
  InputOptions in;
  in.short_sides = {30};
  in.long_side = 40;
  in.flip = 0;
  LoaderOptions lo;
  lo.batch_size = 4;
  {
    DataLoader loader(ds, in, lo);
    QCOMPARE(loader.samples_per_epoch(), std::size_t(1));
    const auto batches = whole_epoch(loader, 0);
    QCOMPARE(batches.size(), std::size_t(1));
    QVERIFY((batches[0].images.image_ids == std::vector<std::int64_t>{1}));
    const InstanceTargets& t = batches[0].targets[0];
    QCOMPARE(t.size(), std::int64_t(1));  // the crowd cat is left out
    QCOMPARE(t.labels.scalar_type(), torch::kInt64);
    QCOMPARE(t.labels[0].item<std::int64_t>(), std::int64_t(1));
    QCOMPARE(t.boxes.sizes().vec(), (std::vector<std::int64_t>{1, 4}));
    QCOMPARE(t.boxes[0][3].item<float>(), 15.f);
    QCOMPARE(t.masks.scalar_type(), torch::kUInt8);
    QCOMPARE(t.masks.sizes().vec(), (std::vector<std::int64_t>{1, 32, 64}));
  }
  lo.train = false;
  DataLoader loader(ds, in, lo);
  const auto batches = whole_epoch(loader, 0);
  QVERIFY((ids_of(batches) == std::vector<std::int64_t>{1, 2, 3}));
  QVERIFY(batches[0].targets.empty());
  // A training set with nothing to learn from is an error naming it.
  Dataset empty = *ds;
  empty.annotations.resize(0);
  lo.train = true;
  STUDIO_EXPECT_ERROR(DataLoader(std::make_shared<Dataset>(empty), in, lo), "tiny.json",
                      "no image has a usable");
}

void TestDataLoader::unreadable_image_names_file() {
  QTemporaryDir dir;
  write_uniform(dir.filePath("good.png").toStdString(), 8, 8, {1, 1, 1});
  test::write_text(dir, "broken.jpg", "this is not a JPEG");
  auto ds = std::make_shared<Dataset>();
  ds->image_root = dir.path().toStdString();
  ds->images = {{1, "good.png", 8, 8}, {2, "broken.jpg", 8, 8}, {3, "missing.png", 8, 8}};
  InputOptions in;
  in.short_sides = {8};
  in.long_side = 8;
  LoaderOptions lo;
  lo.train = false;
  lo.batch_size = 1;
  lo.workers = 2;
  DataLoader loader(ds, in, lo);
  loader.start_epoch(0);
  QVERIFY(loader.next().has_value());
  STUDIO_EXPECT_ERROR((void)loader.next(), "broken.jpg: not a decodable image");
  STUDIO_EXPECT_ERROR((void)loader.next(), "missing.png: cannot open");
  QVERIFY(!loader.next().has_value());
}

void TestDataLoader::early_stop_does_not_hang() {
  QTemporaryDir dir;
  auto ds = shapes(dir, 24, 128);
  InputOptions in;
  in.short_sides = {256};
  in.long_side = 256;
  LoaderOptions lo;
  lo.batch_size = 2;
  lo.workers = 3;
  lo.prefetch = 2;
  const auto start = std::chrono::steady_clock::now();
  {
    DataLoader loader(ds, in, lo);
    loader.start_epoch(0);
    QVERIFY(loader.next().has_value());
    loader.start_epoch(1);  // abandons epoch 0 with work in flight
    QVERIFY(loader.next().has_value());
  }  // destroyed with workers busy and the queue full
  {
    DataLoader loader(ds, in, lo);
    loader.start_epoch(0);
  }                                   // destroyed before anything was taken
  { DataLoader loader(ds, in, lo); }  // never started
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  QVERIFY2(seconds < 10, qPrintable(QString::number(seconds)));
}

void TestDataLoader::input_options() {
  const Config c = Config::parse(
      "data:\n"
      "  input:\n"
      "    short_side: [640, 672]\n"
      "    long_side: 1000\n"
      "    flip: 0.25\n"
      "    mean: [1, 2, 3]\n"
      "  test_input:\n"
      "    short_side: 600\n"
      "  workers: 3\n",
      "r.yaml");
  const DataOptions d = data_options_from_config(c.at("data"));
  QVERIFY((d.train_input.short_sides == std::vector<int>{640, 672}));
  QCOMPARE(d.train_input.long_side, 1000);
  QCOMPARE(d.train_input.flip, 0.25);
  QCOMPARE(d.train_input.mean[2], 3.f);
  QCOMPARE(d.train_input.std[0], 58.395f);
  QCOMPARE(d.train_input.size_divisor, 32);
  QVERIFY((d.test_input.short_sides == std::vector<int>{600}));
  QCOMPARE(d.test_input.long_side, 1000);  // from data.input
  QCOMPARE(d.workers, 3);
  STUDIO_EXPECT_ERROR(
      (void)input_options_from_config(Config::parse("input:\n  short: 3\n", "r.yaml").at("input")),
      "r.yaml:2: input.short: unknown key", "short_side");
  STUDIO_EXPECT_ERROR(
      (void)input_options_from_config(Config::parse("input:\n  mean: [1, 2]\n", "r.yaml").at("input")),
      "r.yaml:2: input.mean: expected 3 numbers");
  STUDIO_EXPECT_ERROR(
      (void)input_options_from_config(Config::parse("input:\n  flip: 2\n", "r.yaml").at("input")),
      "input.flip: expected a probability");
  STUDIO_EXPECT_ERROR(
      (void)data_options_from_config(Config::parse("data:\n  worker: 3\n", "r.yaml").at("data")),
      "data.worker: unknown key");
}

void TestDataLoader::recipe_datasets() {
  QTemporaryDir dir;
  QVERIFY(QDir(dir.path()).mkpath("configs") && QDir(dir.path()).mkpath("base") &&
          QDir(dir.path()).mkpath("sets"));
  const std::string root = dir.path().toStdString();
  // Mapping (train) and token (val) forms, relative to the recipe's folder.
  const std::string recipe = test::write_text(dir, "configs/r.yaml",
                                              "data:\n"
                                              "  train:\n"
                                              "    format: coco\n"
                                              "    annotations: ../d/ann.json\n"
                                              "    images: ../d/images\n"
                                              "  val: coco:../v/ann.json:../v/images\n");
  Config c = Config::load(recipe);
  DatasetSpec s = dataset_spec_from_recipe(c, "data.train");
  QCOMPARE(s.format, DatasetFormat::Coco);
  QCOMPARE(s.annotations, root + "/d/ann.json");
  QCOMPARE(s.images, root + "/d/images");
  s = dataset_spec_from_recipe(c, "data.val");
  QCOMPARE(s.annotations, root + "/v/ann.json");
  QCOMPARE(s.images, root + "/v/images");
  // The command line wins, relative to the working directory.
  s = resolve_dataset_spec(c, "data.train", "coco:x.json:imgs", "--train-data");
  QCOMPARE(s.annotations, std::string("x.json"));
  QCOMPARE(s.images, std::string("imgs"));
  // A -o override is relative to the working directory too.
  c = Config::load(recipe, {"data.val=coco:o.json:oi"});
  QCOMPARE(dataset_spec_from_recipe(c, "data.val").annotations, std::string("o.json"));

  // A base recipe's mapping resolves against the base's folder; a VOC mapping with roots.
  test::write_text(dir, "base/b.yaml",
                   "data:\n"
                   "  train:\n"
                   "    format: voc\n"
                   "    roots: [VOC2007, VOC2012]\n"
                   "    split: trainval\n"
                   "  val: ../sets/val.yaml\n");
  test::write_text(dir, "sets/val.yaml", "format: txt\nannotations: val.txt\nimages: imgs\n");
  const std::string child = test::write_text(dir, "configs/c.yaml", "base: ../base/b.yaml\n");
  c = Config::load(child);
  s = dataset_spec_from_recipe(c, "data.train");
  QCOMPARE(s.format, DatasetFormat::Voc);
  QVERIFY((s.roots == std::vector<std::string>{root + "/base/VOC2007", root + "/base/VOC2012"}));
  // A dataset YAML named by the recipe: its own paths are relative to the YAML.
  s = dataset_spec_from_recipe(c, "data.val");
  QCOMPARE(s.format, DatasetFormat::Txt);
  QCOMPARE(s.annotations, root + "/sets/val.txt");
}

void TestDataLoader::recipe_dataset_errors() {
  QTemporaryDir dir;
  const std::string recipe = test::write_text(dir, "r.yaml",
                                              "data:\n"
                                              "  train:\n"
                                              "    format: coco\n"
                                              "    annotations: a.json\n"
                                              "    image: imgs\n"
                                              "  val: yolo:a:b\n"
                                              "  input: {}\n");
  const Config c = Config::load(recipe);
  STUDIO_EXPECT_ERROR((void)dataset_spec_from_recipe(c, "data.train"),
                      "r.yaml:5: data.train: unknown key 'image'", "allowed: format, annotations, images");
  STUDIO_EXPECT_ERROR((void)dataset_spec_from_recipe(c, "data.val"), "r.yaml:6: data.val: dataset 'yolo:a:b'",
                      "unknown format 'yolo'");
  STUDIO_EXPECT_ERROR((void)resolve_dataset_spec(c, "data.test", "", "--test-data"),
                      "data.test: no dataset given", "--test-data");
  STUDIO_EXPECT_ERROR((void)resolve_dataset_spec(c, "data.train", "coco:only-one", "--train-data"),
                      "--train-data: dataset 'coco:only-one'");
  const Config c2 = Config::load(test::write_text(dir, "r2.yaml",
                                                  "data:\n"
                                                  "  train:\n"
                                                  "    format: coco\n"
                                                  "    annotations: a.json\n"
                                                  "  val: [a, b]\n"
                                                  "  test: missing.yaml\n"));
  STUDIO_EXPECT_ERROR((void)dataset_spec_from_recipe(c2, "data.train"), "r2.yaml",
                      "data.train.images: missing");
  STUDIO_EXPECT_ERROR((void)dataset_spec_from_recipe(c2, "data.val"),
                      "r2.yaml:5: data.val: expected a dataset token");
  STUDIO_EXPECT_ERROR((void)dataset_spec_from_recipe(c2, "data.test"),
                      "r2.yaml:6: data.test: dataset YAML file not found");
}

QTEST_APPLESS_MAIN(TestDataLoader)
#include "test_data_loader.moc"
