#pragma once
// The geometric transforms of the training and inference pipeline, without tensors: decode an
// image to RGB, resize keeping the aspect ratio (mmdetection's rule), mirror left-right, and move
// boxes and masks with the image. The engine's DataLoader collates the results into tensors.
// OpenCV stays inside the .cpp (as in image_io.h), so this header is cheap to include.
//
// Coordinates are COCO's: continuous, (0,0) the top-left corner of the top-left pixel.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image_io.h"

namespace studio {

// Row-major RGB pixels, 3 bytes a pixel.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // height * width * 3

  [[nodiscard]] const std::uint8_t* at(int x, int y) const {
    return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3;
  }
};

// Decodes an image file to RGB (EXIF orientation applied, as cv2.imread / mmcv.imread do).
// Throws studio::Error "<path>: cannot open" or "<path>: not a decodable image".
[[nodiscard]] RgbImage read_rgb_image(const std::string& path);

// mmcv's rescale_size for a (long_side, short_side) scale: the largest factor that keeps the
// longer side <= long_side and the shorter side <= short_side,
//   f = min(long_side / max(h, w), short_side / min(h, w)),
// and the new size int(w * f + 0.5) x int(h * f + 0.5). E.g. 500x375 at (800, 1333): f = 800/375,
// 1067x800. A size is never below 1 pixel.
[[nodiscard]] ImageSize rescale_size(ImageSize original, int short_side, int long_side);

// Bilinear resize (cv::INTER_LINEAR, as mmcv.imresize's default); a no-op copy when the size
// is unchanged.
[[nodiscard]] RgbImage resize_image(const RgbImage& image, ImageSize size);
// Mirrors left-right in place.
void flip_image(RgbImage& image);

// Decode + resize to rescale_size(decoded, short_side, long_side) + optional mirror, with one
// pass per step inside OpenCV (the loader's hot path). `original` receives the decoded size.
// Throws like read_rgb_image.
[[nodiscard]] RgbImage load_resized_image(const std::string& path, int short_side, int long_side, bool flip,
                                          ImageSize* original);

// How one image was transformed: what boxes and masks must follow.
struct ImageTransform {
  ImageSize original;  // decoded file size
  ImageSize resized;   // size after resizing (before padding)
  bool flipped = false;

  // mmdetection's per-axis factors: new / old (slightly different on the two axes after rounding).
  [[nodiscard]] double scale_x() const { return double(resized.width) / original.width; }
  [[nodiscard]] double scale_y() const { return double(resized.height) / original.height; }
};

// A COCO box [x, y, w, h] in original coordinates -> [x1, y1, x2, y2] in resized (and mirrored:
// x1' = W - x2, x2' = W - x1) coordinates, clipped to the resized image as mmdetection does.
[[nodiscard]] std::array<float, 4> transform_box(const std::array<double, 4>& xywh, const ImageTransform& t);

// Rasterises an annotation's mask at the resized size into `out` (row-major, `out_stride` bytes a
// row, at least resized.height rows; only 1s are written, so `out` must be zeroed beforehand):
// - polygons are scaled to the resized size and rasterised there with maskApi's rule (the rule
//   COCO evaluation uses), rather than rasterised at the original size and resized with nearest
//   neighbour: the edges stay sub-pixel exact instead of blocky when upscaling, and the cost is
//   proportional to the output only;
// - RLE masks are decoded at their own size and resized with nearest neighbour (mmdetection's
//   BitmapMasks.rescale);
// - an annotation without a mask (box-only data mixed into a mask dataset) fills its box.
// The mirror, when set, is applied to the rasterised mask, exactly as to the image.
// Throws studio::Error on an RLE whose size is 0.
void rasterise_mask(const Annotation& annotation, const ImageTransform& t, std::uint8_t* out,
                    std::size_t out_stride);
// The same into a new resized.height x resized.width buffer of 0/1.
[[nodiscard]] std::vector<std::uint8_t> rasterise_mask(const Annotation& annotation, const ImageTransform& t);

// Tight box [x1, y1, x2, y2] of the nonzero pixels of a row-major mask (pixel edges: a single
// pixel at (x, y) gives x, y, x+1, y+1); all zeros when the mask is empty.
[[nodiscard]] std::array<float, 4> mask_tight_box(const std::uint8_t* mask, int width, int height,
                                                  std::size_t stride);

// One image and its targets after the transforms, for tools and tests that want the whole
// sample in memory (the loader writes masks straight into its batch tensors instead).
struct Sample {
  std::int64_t image_id = 0;
  RgbImage image;  // resized (and mirrored)
  ImageTransform transform;
  std::vector<std::array<float, 4>> boxes;       // x1, y1, x2, y2 in resized coordinates
  std::vector<std::int64_t> labels;              // contiguous class index (position in categories)
  std::vector<std::vector<std::uint8_t>> masks;  // each resized.height * resized.width, 0/1
};

// Builds a Sample from the given annotations (the caller chooses which: the loader leaves crowd
// ones out). `with_masks` false leaves Sample::masks empty.
[[nodiscard]] Sample make_sample(const Dataset& dataset, const ImageInfo& image,
                                 const std::vector<const Annotation*>& annotations, int short_side,
                                 int long_side, bool flip, bool with_masks);

}  // namespace studio
