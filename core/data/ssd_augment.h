#pragma once
// SSD's training augmentation, as qfgaohao's pytorch-ssd (vision/ssd/data_preprocessing.py,
// TrainAugmentation, itself from amdegroot's ssd.pytorch) applies it, step by step and draw by draw:
//   1. photometric distortion on float pixels, never clipped: brightness +-32 (p 0.5); then either
//      contrast, HSV (saturation x[0.5, 1.5], hue +-18 degrees), RGB, or HSV, saturation, hue, RGB,
//      contrast (p 0.5 each; contrast x[0.5, 1.5] p 0.5); then a random channel permutation (p 0.5).
//      The HSV round trip is OpenCV's float conversion (H in degrees, S 0..1, V the value).
//   2. expand (p 0.5): a canvas ratio x [1, 4] times the image, filled with `fill`, the image at
//      a random integer offset.
//   3. random crop: a mode among {whole image, min IoU 0.1, 0.3, 0.7, 0.9, any patch}; up to 50
//      patches of 0.3..1 of each side with aspect 0.5..2 at integer corners; boxes whose centre
//      lies strictly inside are kept, clipped to the patch; no such box: another patch; 50 misses:
//      another mode.
//      The reference's IoU test (`min < min_iou and max_iou < max`, with max_iou infinite) never
//      rejects a patch, so its min-IoU modes behave as "any patch"; CropRule::Reference keeps that
//      (the accuracy users reproduce), CropRule::MinIou rejects a patch when some kept-or-not box
//      overlaps it less than min_iou (the paper's and mmdetection's MinIoURandomCrop rule).
//   4. mirror with probability `flip` (0.5 in the reference).
//   5. resize to size x size, aspect not kept (cv::resize, bilinear, on the float image).
// Boxes are [x1, y1, x2, y2] in pixels, continuous (COCO) coordinates; the output boxes are in the
// size x size image's pixels. Normalising ((x - 127) / 128) is the model's.
//
// SsdStyle::MindSpore is MindSpore's pipeline instead (mindspore-ai/models official/cv/SSD,
// src/dataset.py: random_sample_crop, preprocess_fn._data_aug, create_ssd_dataset; used by its
// ssd_resnet50_fpn). It ignores photometric, expand, fill and crop_rule; it honours crop and flip:
//   1. random_sample_crop: min IoU among {none, 0.1, 0.3, 0.5, 0.7, 0.9} (none: image unchanged);
//      up to 50 patches w = U(0.3, 1) * width, h = U(0.3, 1) * height, aspect h/w in [0.5, 2],
//      corners truncated to integers; a patch is skipped when no box overlaps it, or when the
//      overlapping boxes' smallest IoU is < min IoU and their largest > min IoU + 0.2; boxes that
//      overlap it with their centre strictly inside are kept (clipped, shifted), none: skipped.
//      50 misses: the image unchanged (no other mode is drawn, unlike pytorch-ssd).
//   2. resize to size x size, aspect not kept (cv::resize, bilinear).
//   3. mirror with probability `flip` (0.5 in the reference).
//   4. RandomColorAdjust(brightness, contrast, saturation = color_jitter): factors U(1 - s, 1 + s);
//      brightness scales, contrast blends with the mean of the grey image, saturation with the grey
//      image (grey = 0.299 R + 0.587 G + 0.114 B, PIL's and torchvision's formulas), clipped to
//      0..255 after each (MindSpore's image is uint8 there; we keep floats, not rounded). The order
//      of the three is not visible from the model repository (it is inside MindSpore's C++ op);
//      we take torchvision ColorJitter's: a random permutation per image, drawn first as
//      permutation number rng() % 6 of {brightness 0, contrast 1, saturation 2} in lexicographic
//      order, then the three factors (brightness, contrast, saturation). color_jitter 0: no draws.
// OpenCV stays in the .cpp.
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "data/image_transforms.h"
#include "data/random_draws.h"

namespace studio {

enum class CropRule { Reference, MinIou };
enum class SsdStyle { PytorchSsd, MindSpore };

struct SsdAugmentOptions {
  int size = 300;         // output side
  float fill = 127.f;     // expand canvas value (the reference's image mean)
  double flip = 0.5;      // mirror probability
  CropRule crop_rule = CropRule::Reference;
  bool photometric = true;
  bool expand = true;
  bool crop = true;
  SsdStyle style = SsdStyle::PytorchSsd;
  float color_jitter = 0.4f;  // MindSpore style: brightness, contrast and saturation strength
};

// Row-major RGB floats, 3 a pixel.
struct FloatImage {
  int width = 0;
  int height = 0;
  std::vector<float> pixels;  // height * width * 3
};

struct SsdAugmented {
  FloatImage image;                            // size x size
  std::vector<std::array<float, 4>> boxes;     // x1, y1, x2, y2 in the output's pixels
  std::vector<std::int64_t> labels;            // the kept boxes' labels
};

// Applies steps 1-5 (or MindSpore's 1-4, by options.style) to `image` with `boxes`/`labels` (same length, at
// least one box: the loader leaves images without boxes out of training). Every draw comes from `rng`.
[[nodiscard]] SsdAugmented ssd_augment(const RgbImage& image, const std::vector<std::array<float, 4>>& boxes,
                                       const std::vector<std::int64_t>& labels, const SsdAugmentOptions& options,
                                       std::mt19937_64& rng);

// The steps one by one, for tests (each draws from `rng` exactly as ssd_augment does).
void ssd_photometric_distort(FloatImage& image, std::mt19937_64& rng);
void ssd_expand(FloatImage& image, std::vector<std::array<float, 4>>& boxes, float fill, std::mt19937_64& rng);
void ssd_random_crop(FloatImage& image, std::vector<std::array<float, 4>>& boxes, std::vector<std::int64_t>& labels,
                     CropRule rule, std::mt19937_64& rng);
void ms_random_sample_crop(FloatImage& image, std::vector<std::array<float, 4>>& boxes,
                           std::vector<std::int64_t>& labels, std::mt19937_64& rng);
void ms_color_adjust(FloatImage& image, float strength, std::mt19937_64& rng);

}  // namespace studio
