// SSD's training augmentation (data/ssd_augment.h), step by step on images whose pixels say where
// they came from, and the loader's augment: ssd path.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>

#include "common/config.h"
#include "common/error.h"
#include "data/shapes_generator.h"
#include "data/ssd_augment.h"
#include "engine/data_loader.h"
#include "test_support.h"

using namespace studio;

namespace {

using Box = std::array<float, 4>;

// Pixel (x, y) holds (x, y, 7): a crop's first pixel names its corner.
FloatImage coordinate_image(int w, int h) {
  FloatImage im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float* p = im.pixels.data() + (static_cast<std::size_t>(y) * w + x) * 3;
      p[0] = static_cast<float>(x);
      p[1] = static_cast<float>(y);
      p[2] = 7.f;
    }
  return im;
}

const float* pixel(const FloatImage& im, int x, int y) {
  return im.pixels.data() + (static_cast<std::size_t>(y) * im.width + x) * 3;
}

}  // namespace

class TestSsdAugment : public QObject {
  Q_OBJECT

 private slots:
  // Expand: the image lands whole at an integer offset on a canvas of `fill`, 1..4 times its
  // size; the boxes move by that offset. Half the draws leave the image alone.
  void expand_moves_boxes_with_the_image() {
    int expanded = 0;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
      std::mt19937_64 rng(seed);
      FloatImage im = coordinate_image(40, 30);
      std::vector<Box> boxes{{5.5f, 6.f, 20.f, 25.f}};
      ssd_expand(im, boxes, 127.f, rng);
      if (im.width == 40 && im.height == 30) {
        QCOMPARE(boxes[0][0], 5.5f);
        continue;
      }
      ++expanded;
      QVERIFY(im.width >= 40 && im.width <= 160 && im.height >= 30 && im.height <= 120);
      // Find the image's (0, 0) pixel: the only one that is (0, 0, 7).
      int ox = -1, oy = -1;
      for (int y = 0; y < im.height && ox < 0; ++y)
        for (int x = 0; x < im.width; ++x)
          if (pixel(im, x, y)[0] == 0.f && pixel(im, x, y)[1] == 0.f && pixel(im, x, y)[2] == 7.f) {
            ox = x;
            oy = y;
            break;
          }
      QVERIFY(ox >= 0);
      QCOMPARE(pixel(im, ox + 39, oy + 29)[0], 39.f);
      QCOMPARE(boxes[0][0], 5.5f + ox);
      QCOMPARE(boxes[0][3], 25.f + oy);
      // Outside the pasted image: the fill.
      if (ox > 0) QCOMPARE(pixel(im, ox - 1, oy)[2], 127.f);
      if (oy + 30 < im.height) QCOMPARE(pixel(im, ox, oy + 30)[1], 127.f);
    }
    QVERIFY(expanded > 10 && expanded < 30);
  }

  // Random crop: the patch is the source rectangle starting at its first pixel; boxes whose centre
  // is inside are kept, clipped and shifted, with their labels; the others are dropped.
  void crop_keeps_boxes_centred_inside() {
    int cropped = 0;
    for (std::uint64_t seed = 0; seed < 60; ++seed) {
      std::mt19937_64 rng(seed);
      FloatImage im = coordinate_image(100, 80);
      const std::vector<Box> original{{10, 10, 30, 40}, {60, 20, 95, 70}, {40, 50, 60, 78}};
      std::vector<Box> boxes = original;
      std::vector<std::int64_t> labels{0, 1, 2};
      ssd_random_crop(im, boxes, labels, CropRule::Reference, rng);
      if (im.width == 100 && im.height == 80) {
        QCOMPARE(boxes.size(), std::size_t(3));
        continue;
      }
      ++cropped;
      const int left = static_cast<int>(pixel(im, 0, 0)[0]), top = static_cast<int>(pixel(im, 0, 0)[1]);
      QVERIFY(im.width >= 30 && im.height >= 24);  // 0.3 of each side, floored corners
      const double aspect = double(im.height) / im.width;
      QVERIFY2(aspect > 0.45 && aspect < 2.2, qPrintable(QString::number(aspect)));
      QCOMPARE(pixel(im, im.width - 1, im.height - 1)[0], float(left + im.width - 1));
      QVERIFY(!boxes.empty());
      QCOMPARE(boxes.size(), labels.size());
      std::size_t k = 0;
      for (std::size_t i = 0; i < original.size(); ++i) {
        const Box& b = original[i];
        const float cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
        const bool inside = left < cx && top < cy && left + im.width > cx && top + im.height > cy;
        if (!inside) continue;
        QVERIFY(k < boxes.size());
        QCOMPARE(labels[k], std::int64_t(i));
        QCOMPARE(boxes[k][0], std::max(b[0], float(left)) - left);
        QCOMPARE(boxes[k][1], std::max(b[1], float(top)) - top);
        QCOMPARE(boxes[k][2], std::min(b[2], float(left + im.width)) - left);
        QCOMPARE(boxes[k][3], std::min(b[3], float(top + im.height)) - top);
        ++k;
      }
      QCOMPARE(k, boxes.size());
    }
    QVERIFY(cropped > 30);
  }

  // The two crop rules on a box too small for any patch to overlap it by 0.1: the reference's
  // test never rejects, so five modes in six crop; with min_iou only "any patch" can (one in two
  // of the modes that end: whole image or any patch).
  void crop_rules_differ_as_documented() {
    const auto crop_rate = [](CropRule rule) {
      int cropped = 0;
      for (std::uint64_t seed = 0; seed < 600; ++seed) {
        std::mt19937_64 rng(seed);
        FloatImage im = coordinate_image(100, 100);
        std::vector<Box> boxes{{48, 48, 52, 52}};
        std::vector<std::int64_t> labels{3};
        ssd_random_crop(im, boxes, labels, rule, rng);
        if (im.width != 100 || im.height != 100) ++cropped;
      }
      return cropped / 600.0;
    };
    const double reference = crop_rate(CropRule::Reference), min_iou = crop_rate(CropRule::MinIou);
    qInfo("crop rate: reference %.3f, min_iou %.3f", reference, min_iou);
    QVERIFY2(reference > 0.75 && reference < 0.9, qPrintable(QString::number(reference)));
    QVERIFY2(min_iou > 0.42 && min_iou < 0.58, qPrintable(QString::number(min_iou)));
  }

  // Photometric distortion of a grey image: hue and saturation leave grey grey, so every pixel
  // stays equal on all channels, at (v + brightness) * contrast; nothing is clipped to 0..255.
  void photometric_keeps_grey_and_does_not_clip() {
    bool above = false, changed = false;
    for (std::uint64_t seed = 0; seed < 40; ++seed) {
      std::mt19937_64 rng(seed);
      FloatImage im;
      im.width = 6;
      im.height = 4;
      im.pixels.assign(6 * 4 * 3, 240.f);
      ssd_photometric_distort(im, rng);
      const float v = im.pixels[0];
      for (float p : im.pixels) QVERIFY(std::abs(p - v) < 1e-3f * std::max(1.f, std::abs(v)));
      QVERIFY(v >= (240 - 32) * 0.5f - 1e-3f && v <= (240 + 32) * 1.5f * 1.5f + 1e-3f);
      above = above || v > 255.f;
      changed = changed || v != 240.f;
    }
    QVERIFY(above && changed);
  }

  // A coloured image: a channel permutation or hue shift moves colour between channels.
  void photometric_changes_colour() {
    bool swapped = false;
    for (std::uint64_t seed = 0; seed < 20 && !swapped; ++seed) {
      std::mt19937_64 rng(seed);
      FloatImage im;
      im.width = im.height = 2;
      for (int i = 0; i < 4; ++i) im.pixels.insert(im.pixels.end(), {200.f, 50.f, 10.f});
      ssd_photometric_distort(im, rng);
      swapped = im.pixels[0] < im.pixels[1] || im.pixels[0] < im.pixels[2];
    }
    QVERIFY(swapped);
  }

  // The whole pipeline: size x size output, boxes inside it, labels a subset of the input's;
  // the same generator state gives the same result.
  void whole_pipeline() {
    RgbImage im;
    im.width = 120;
    im.height = 90;
    im.pixels.assign(120 * 90 * 3, 100);
    const std::vector<Box> boxes{{10, 10, 50, 60}, {70, 30, 110, 85}};
    const std::vector<std::int64_t> labels{4, 2};
    SsdAugmentOptions o;
    o.size = 64;
    bool mirrored_or_cropped = false;
    for (std::uint64_t seed = 0; seed < 30; ++seed) {
      std::mt19937_64 a(seed), b(seed);
      const SsdAugmented x = ssd_augment(im, boxes, labels, o, a), y = ssd_augment(im, boxes, labels, o, b);
      QCOMPARE(x.image.width, 64);
      QCOMPARE(x.image.height, 64);
      QVERIFY(x.image.pixels == y.image.pixels);
      QVERIFY(x.boxes == y.boxes);
      QVERIFY(!x.boxes.empty());
      for (std::size_t i = 0; i < x.boxes.size(); ++i) {
        const Box& bx = x.boxes[i];
        QVERIFY(bx[0] >= -1e-4f && bx[1] >= -1e-4f && bx[2] <= 64.0001f && bx[3] <= 64.0001f);
        QVERIFY(bx[0] < bx[2] && bx[1] < bx[3]);
        QVERIFY(x.labels[i] == 4 || x.labels[i] == 2);
      }
      mirrored_or_cropped = mirrored_or_cropped || x.boxes.size() == 1 ||
                            std::abs(x.boxes[0][0] - 10 * 64 / 120.f) > 1e-3f;
    }
    QVERIFY(mirrored_or_cropped);
    std::mt19937_64 r(1);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, (void)ssd_augment(im, {}, {}, o, r));
  }

  // The loader's augment: ssd: every training image comes out ssd_size squared as float pixel
  // values (not normalised), with boxes inside it; no masks; inference is unchanged.
  void loader_augment_ssd() {
    QTemporaryDir dir;
    ShapesOptions so;
    so.out_dir = dir.filePath("shapes").toStdString();
    so.images = 6;
    so.size = 80;
    so.seed = 3;
    auto ds = std::make_shared<Dataset>(generate_shapes(so));
    const Config c = Config::parse(
        "data:\n  input:\n    resize: false\n    augment: ssd\n    ssd_size: 96\n    crop_rule: min_iou\n", "r.yaml");
    const DataOptions d = data_options_from_config(c.at("data"));
    QVERIFY(d.train_input.augment == InputOptions::Augment::Ssd);
    QVERIFY(d.train_input.ssd.crop_rule == CropRule::MinIou);
    QCOMPARE(d.train_input.ssd.size, 96);
    QVERIFY(d.test_input.augment == InputOptions::Augment::Ssd);  // test_input falls back; not used there
    LoaderOptions lo;
    lo.batch_size = 3;
    lo.seed = 5;
    DataLoader loader(ds, d.train_input, lo);
    loader.start_epoch(0);
    std::size_t images = 0;
    while (auto b = loader.next()) {
      QCOMPARE(b->images.images.size(2), std::int64_t(96));
      QCOMPARE(b->images.images.size(3), std::int64_t(96));
      for (const auto& s : b->images.image_sizes) QVERIFY((s == std::array<int, 2>{96, 96}));
      const auto hi_v = b->images.images.max().item<float>();
      QVERIFY(hi_v > 20);  // pixel values, not (x - mean) / std
      for (const InstanceTargets& t : b->targets) {
        QVERIFY(!t.masks.defined());
        QVERIFY(t.size() > 0);
        QVERIFY(t.boxes.min().item<float>() >= -1e-4f && t.boxes.max().item<float>() <= 96.0001f);
        QVERIFY(t.labels.min().item<std::int64_t>() >= 0 && t.labels.max().item<std::int64_t>() < std::int64_t(ds->categories.size()));
      }
      images += b->images.image_ids.size();
    }
    QCOMPARE(images, std::size_t(6));

    STUDIO_EXPECT_ERROR((void)data_options_from_config(
                            Config::parse("data:\n  input:\n    augment: ssd\n", "r.yaml").at("data")),
                        "r.yaml:3: data.input.augment: ssd needs resize: false");
    STUDIO_EXPECT_ERROR((void)data_options_from_config(
                            Config::parse("data:\n  input:\n    crop_rule: min_iou\n", "r.yaml").at("data")),
                        "data.input.crop_rule: only used with augment: ssd");
    STUDIO_EXPECT_ERROR(
        (void)data_options_from_config(
            Config::parse("data:\n  input:\n    resize: false\n    augment: ssd\n    crop_rule: iou\n", "r.yaml")
                .at("data")),
        "crop_rule: expected reference", "got 'iou'");
  }
};

QTEST_APPLESS_MAIN(TestSsdAugment)
#include "test_ssd_augment.moc"
