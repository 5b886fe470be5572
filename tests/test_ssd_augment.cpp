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

  // MindSpore's RandomColorAdjust, recomputed from the same draws: permutation rng() % 6 of
  // (brightness, contrast, saturation), then the three factors U(0.6, 1.4); clipped to 0..255
  // after each step. Strength 0 draws nothing and changes nothing.
  void ms_color_adjust_matches_formulas() {
    static constexpr int kPerms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    const std::vector<float> source{200, 100, 50, 250, 240, 230, 10, 20, 30};
    bool clipped = false;
    for (std::uint64_t seed = 0; seed < 30; ++seed) {
      std::mt19937_64 rng(seed), replay(seed);
      FloatImage im;
      im.width = 3;
      im.height = 1;
      im.pixels = source;
      ms_color_adjust(im, 0.4f, rng);
      const int* order = kPerms[replay() % 6];
      double f[3];
      for (double& v : f) v = 0.6 + 0.8 * uniform01(replay);
      std::vector<double> e(source.begin(), source.end());
      const auto grey = [&](std::size_t p) {
        return 0.299 * e[3 * p] + 0.587 * e[3 * p + 1] + 0.114 * e[3 * p + 2];
      };
      for (int k = 0; k < 3; ++k) {
        const double fk = f[order[k]];
        const double mean = (grey(0) + grey(1) + grey(2)) / 3;
        std::vector<double> g{grey(0), grey(1), grey(2)};
        for (std::size_t i = 0; i < e.size(); ++i) {
          const double blend = order[k] == 0 ? 0.0 : order[k] == 1 ? mean : g[i / 3];
          e[i] = std::clamp(fk * e[i] + (1 - fk) * blend, 0.0, 255.0);
        }
      }
      for (std::size_t i = 0; i < e.size(); ++i)
        QVERIFY2(std::abs(im.pixels[i] - e[i]) < 1e-3,
                 qPrintable(QString("seed %1 value %2").arg(seed).arg(i)));
      clipped = clipped || *std::max_element(im.pixels.begin(), im.pixels.end()) == 255.f;
      QCOMPARE(rng(), replay());  // exactly four draws
    }
    QVERIFY(clipped);
    std::mt19937_64 rng(4), untouched(4);
    FloatImage im;
    im.width = 3;
    im.height = 1;
    im.pixels = source;
    ms_color_adjust(im, 0.f, rng);
    QVERIFY(im.pixels == source);
    QCOMPARE(rng(), untouched());
  }

  // MindSpore's random_sample_crop on a whole-image box A and a tiny box B: B's IoU with any patch
  // is < 0.02, A's is the patch's area / 10000, so a patch overlapping B is rejected exactly when
  // its area exceeds (min IoU + 0.2) * 10000. Kept boxes overlap the patch with their centre inside
  // it, clipped; min IoU "None" (first draw % 6 == 0) leaves everything unchanged.
  void ms_crop_follows_the_reference() {
    static constexpr double kMinIou[6] = {0, 0.1, 0.3, 0.5, 0.7, 0.9};
    int unchanged_by_none = 0, small_with_b = 0, without_b = 0;
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
      std::mt19937_64 rng(seed), replay(seed);
      const std::size_t mode = replay() % 6;
      FloatImage im = coordinate_image(100, 100);
      const std::vector<Box> original{{0, 0, 100, 100}, {20, 20, 24, 24}};
      std::vector<Box> boxes = original;
      std::vector<std::int64_t> labels{5, 6};
      ms_random_sample_crop(im, boxes, labels, rng);
      if (mode == 0) {
        ++unchanged_by_none;
        QCOMPARE(im.width, 100);
        QCOMPARE(im.height, 100);
        QVERIFY(boxes == original);
        QCOMPARE(rng(), replay());  // only the min-IoU draw
        continue;
      }
      if (im.width == 100 && im.height == 100) continue;  // 50 misses
      const int left = static_cast<int>(pixel(im, 0, 0)[0]), top = static_cast<int>(pixel(im, 0, 0)[1]);
      const int right = left + im.width, bottom = top + im.height;
      const bool a_kept = left < 50 && top < 50 && right > 50 && bottom > 50;
      const bool b_kept = left < 22 && top < 22 && right > 22 && bottom > 22;
      const bool b_overlaps = left < 24 && top < 24 && right > 20 && bottom > 20;
      std::vector<std::int64_t> expected_labels;
      if (a_kept) expected_labels.push_back(5);
      if (b_kept) expected_labels.push_back(6);
      QVERIFY(labels == expected_labels && boxes.size() == labels.size());
      if (a_kept) QVERIFY((boxes[0] == Box{0, 0, float(im.width), float(im.height)}));
      if (b_kept)
        QVERIFY(
            (boxes.back() == Box{std::max(20.f, float(left)) - left, std::max(20.f, float(top)) - top,
                                 std::min(24.f, float(right)) - left, std::min(24.f, float(bottom)) - top}));
      if (b_overlaps) {
        QVERIFY(im.width * im.height <= (kMinIou[mode] + 0.2) * 10000 + 1e-6);
        if (mode == 1) ++small_with_b;
      } else {
        ++without_b;
      }
    }
    QVERIFY(unchanged_by_none > 25);
    QVERIFY(small_with_b > 0 && without_b > 0);
  }

  // MindSpore-style ssd_augment without crop: boxes scaled to size x size, then mirrored when the
  // one flip draw is < 0.5; the colour adjustment comes last, on the resized image.
  void ms_augment_resizes_and_flips() {
    RgbImage im;
    im.width = 100;
    im.height = 80;
    im.pixels.assign(100 * 80 * 3, 30);
    for (int y = 0; y < 80; ++y)
      for (int x = 50; x < 100; ++x) im.pixels[(static_cast<std::size_t>(y) * 100 + x) * 3] = 200;
    SsdAugmentOptions o;
    o.style = SsdStyle::MindSpore;
    o.size = 50;
    o.crop = false;
    o.color_jitter = 0.f;
    int flipped = 0;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      std::mt19937_64 rng(seed), replay(seed);
      const SsdAugmented a = ssd_augment(im, {{10, 8, 30, 40}}, {3}, o, rng);
      const bool flip = uniform01(replay) < 0.5;
      flipped += flip;
      QCOMPARE(a.image.width, 50);
      QCOMPARE(a.image.height, 50);
      QVERIFY(a.boxes[0] == (flip ? Box{35, 5, 45, 25} : Box{5, 5, 15, 25}));
      QCOMPARE(a.image.pixels[0], flip ? 200.f : 30.f);
      SsdAugmentOptions jitter = o;
      jitter.color_jitter = 0.4f;
      std::mt19937_64 r1(seed), r2(seed);
      const SsdAugmented j = ssd_augment(im, {{10, 8, 30, 40}}, {3}, jitter, r1);
      SsdAugmented expected = ssd_augment(im, {{10, 8, 30, 40}}, {3}, o, r2);
      ms_color_adjust(expected.image, 0.4f, r2);
      QVERIFY(j.image.pixels == expected.image.pixels);
    }
    QVERIFY(flipped > 3 && flipped < 17);
    o.crop = true;
    o.color_jitter = 0.4f;
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      std::mt19937_64 rng(seed);
      const SsdAugmented a = ssd_augment(im, {{10, 8, 30, 40}, {60, 30, 95, 75}}, {3, 4}, o, rng);
      QVERIFY(!a.boxes.empty() && a.boxes.size() == a.labels.size());
      for (const Box& b : a.boxes)
        QVERIFY(b[0] >= -1e-4f && b[1] >= -1e-4f && b[2] <= 50.0001f && b[3] <= 50.0001f);
    }
  }

  // data.input.ssd_style, color_jitter and ssd_crop.
  void ms_recipe_keys() {
    const auto parse = [](const std::string& input) {
      return data_options_from_config(
          Config::parse("data:\n  input:\n    resize: false\n" + input, "r.yaml").at("data"));
    };
    const DataOptions d = parse("    augment: ssd\n    ssd_style: mindspore\n    color_jitter: 0.25\n");
    QVERIFY(d.train_input.ssd.style == SsdStyle::MindSpore);
    QCOMPARE(d.train_input.ssd.color_jitter, 0.25f);
    QVERIFY(parse("    augment: ssd\n").train_input.ssd.style == SsdStyle::PytorchSsd);
    QVERIFY(d.train_input.ssd.crop);
    QVERIFY(!parse("    augment: ssd\n    ssd_style: mindspore\n    ssd_crop: false\n").train_input.ssd.crop);
    STUDIO_EXPECT_ERROR((void)parse("    ssd_crop: false\n"), "data.input.ssd_crop: only used with augment: ssd");
    STUDIO_EXPECT_ERROR((void)parse("    augment: ssd\n    ssd_style: tf\n"),
                        "data.input.ssd_style: expected pytorch_ssd or mindspore, got 'tf'");
    STUDIO_EXPECT_ERROR((void)parse("    ssd_style: mindspore\n"),
                        "data.input.ssd_style: only used with augment: ssd");
    STUDIO_EXPECT_ERROR((void)parse("    augment: ssd\n    color_jitter: 0.2\n"),
                        "data.input.color_jitter: only used with augment: ssd and ssd_style: mindspore");
    STUDIO_EXPECT_ERROR((void)parse("    augment: ssd\n    ssd_style: mindspore\n    color_jitter: 1\n"),
                        "data.input.color_jitter: expected a number in [0, 1)");
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
