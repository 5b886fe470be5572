#pragma once
// The training/inference data pipeline: worker threads read and decode images, apply the
// recipe's transforms (resize keeping the aspect ratio, random horizontal flip, normalise, pad
// to a multiple of size_divisor), rasterise the masks and move boxes/masks with every transform,
// collate batches into tensors and keep `prefetch` batches ready ahead of the trainer.
// Shuffling is seeded per epoch (seed + epoch), so a resumed run sees the same order.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "data/dataset.h"
#include "data/ssd_augment.h"
#include "modeling/structures.h"

namespace studio {

// The recipe's data.input (training) or data.test_input (inference; flip ignored).
struct InputOptions {
  std::vector<int> short_sides{800};  // one picked at random per image when several (multi-scale)
  int long_side = 1333;               // the longer side never exceeds this
  int size_divisor = 32;              // batch padded to a multiple of this
  double flip = 0.5;                  // probability of a horizontal flip (training only)
  std::array<float, 3> mean{123.675f, 116.28f, 103.53f};  // RGB, 0..255
  std::array<float, 3> std{58.395f, 57.12f, 57.375f};
  // false: the model owns resizing and normalisation (torchvision's two-stage detectors): images
  // are decoded (and flipped) at their own size and handed over as RGB values 0..255, targets in
  // original coordinates; short_side, long_side, mean and std are then not used.
  bool resize = true;
  // data.input.augment: "standard" (the above) or "ssd": SSD's training pipeline (data/ssd_augment.h:
  // photometric distortion, expand, random crop, mirror with probability `flip`, resize to
  // ssd.size squared), images handed over as float pixel values for the model to normalise (so
  // only with resize: false). Training only; inference reads images as with resize: false.
  enum class Augment { Standard, Ssd };
  Augment augment = Augment::Standard;
  // data.input.ssd_size, ssd_fill, crop_rule (reference | min_iou), ssd_crop (true: the random
  // crop, as both references; false leaves it out), ssd_style (pytorch_ssd | mindspore),
  // color_jitter (mindspore only)
  SsdAugmentOptions ssd;
};
// `input` is data.input or data.test_input; test_input falls back to input's keys it lacks.
[[nodiscard]] InputOptions input_options_from_config(const ConfigNode& input,
                                                     const InputOptions& defaults = {});

// The recipe's `data` mapping, minus the datasets (engine/dataset_from_recipe.h reads data.train
// and data.val): checks its keys (train, val, input, test_input, workers) and reads both inputs.
struct DataOptions {
  InputOptions train_input;  // data.input
  InputOptions test_input;   // data.test_input over data.input
  int workers = 2;           // data.workers (0: load in the calling thread)
};
[[nodiscard]] DataOptions data_options_from_config(const ConfigNode& data);

struct LoaderOptions {
  int batch_size = 2;
  int workers = 2;    // decoding threads, each builds whole batches; 0: next() builds them
  int prefetch = 2;   // batches kept ready (at least one per worker is in flight)
  bool train = true;  // augment (flip, multi-scale), shuffle, build targets, skip images without boxes
  std::uint64_t seed = 0;
  int rank = 0;  // data-parallel shard: this process takes every world_size-th sample
  int world_size = 1;
  bool drop_last = false;   // training: drop a last incomplete batch
  bool pin_memory = false;  // page-locked batches (when CUDA is available), so that
                            // .to(cuda, non_blocking) overlaps the copy with compute
  bool masks = true;        // training targets carry the dataset's masks (false: boxes only, for
                            // box-only models: no mask is rasterised)
};

struct Batch {
  ImageBatch images;
  std::vector<InstanceTargets> targets;  // empty when LoaderOptions::train is false
};

// Reproducible whatever the thread timing: batches come out in the sampler's order; the epoch's
// order is a Fisher-Yates shuffle by std::mt19937_64(seed + epoch); each sample's scale and flip
// come from its own generator seeded by (seed, epoch, sample index).
// Training: images without a usable annotation are skipped (mmdetection's filter_empty_gt; usable
// = not crowd, not VOC-difficult, known category, box >= 1 px each way inside the image, area > 0);
// the rank takes every world_size-th sample of the shuffled order, padded from its start so every
// rank has ceil(n / world_size) samples (torch's DistributedSampler).
// Inference (train = false): every image in dataset order, the rank's share without padding (so
// nothing is evaluated twice; counts differ by at most one between ranks), the first short side,
// no flip, no targets.
// Masks ([N, H, W] targets) are made when any annotation of the dataset has a mask; an annotation
// without one then fills its box. Box-only datasets leave InstanceTargets::masks undefined.
class DataLoader {
 public:
  // Crowd annotations are left out of the targets; categories map to the contiguous index
  // Dataset::category_index. The dataset must outlive the loader.
  DataLoader(std::shared_ptr<const Dataset> dataset, InputOptions input, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  [[nodiscard]] std::size_t batches_per_epoch() const;
  [[nodiscard]] std::size_t samples_per_epoch() const;

  // Starts an epoch (0-based) at batch `first_batch` (to resume mid-epoch); workers start
  // filling the queue. Any epoch in progress is abandoned.
  void start_epoch(int epoch, std::size_t first_batch = 0);
  // The next batch of the current epoch, or nullopt when it is done. Rethrows a worker's error
  // (studio::Error naming the image file, e.g. "images/x.jpg: not a decodable image").
  [[nodiscard]] std::optional<Batch> next();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace studio
