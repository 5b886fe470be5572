#pragma once
// Running a model over a dataset and turning its Instances into COCO detections: what the
// trainer's evaluation and `studio-cli infer` share.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/progress.h"
#include "data/dataset.h"
#include "engine/data_loader.h"
#include "eval/coco_results.h"
#include "modeling/detector.h"

namespace studio {

struct InferenceOptions {
  int batch_size = 1;
  int workers = 2;
  torch::Device device = torch::kCPU;
  int rank = 0, world_size = 1;  // data-parallel share of the images (each image once over all ranks)
};

// Detections of one image. `categories` maps the model's contiguous label i to categories[i].id.
// Masks ([K, h, w] bool) become compressed-RLE segmentations (rle_encode reads the row-major mask
// and writes COCO's column-major runs) and the box is the mask's tight box (rle_bbox); instances
// with an empty mask are dropped. Box-only models give boxes (x1,y1,x2,y2 -> x,y,w,h).
[[nodiscard]] std::vector<Detection> instances_to_detections(const Instances& instances, std::int64_t image_id,
                                                             const std::vector<Category>& categories);

// Called per image with its predictions (at the original size), e.g. to draw them.
using InstancesCallback = std::function<void(const ImageInfo& image, const Instances& instances)>;

// Runs `model` (switched to eval mode, under NoGradGuard; the caller's train/eval mode is restored)
// over every image of `dataset` with a test-mode DataLoader. `categories` are the model's classes
// (usually dataset->categories). Progress: ("inference", images done, total); cancel throws Cancelled.
[[nodiscard]] std::vector<Detection> run_inference(Detector& model, std::shared_ptr<const Dataset> dataset,
                                                   const std::vector<Category>& categories,
                                                   const InputOptions& input, const InferenceOptions& options,
                                                   const Progress& progress = {},
                                                   const InstancesCallback& on_image = {});

// A dataset of the images (jpg, jpeg, png, bmp) directly inside `dir`, sorted by name, ids 1..N,
// sizes read from the file headers; no annotations. Throws studio::Error when there are none.
[[nodiscard]] Dataset dataset_from_image_folder(const std::string& dir, const std::vector<Category>& categories);

}  // namespace studio
