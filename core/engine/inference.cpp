#include "engine/inference.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "data/image_io.h"
#include "data/rle.h"

namespace studio {

namespace fs = std::filesystem;

std::vector<Detection> instances_to_detections(const Instances& instances, std::int64_t image_id,
                                               const std::vector<Category>& categories) {
  std::vector<Detection> out;
  const std::int64_t k = instances.size();
  if (k == 0) return out;
  const torch::Tensor scores = instances.scores.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor labels = instances.labels.to(torch::kCPU, torch::kLong).contiguous();
  const double* score = scores.data_ptr<double>();
  const std::int64_t* label = labels.data_ptr<std::int64_t>();
  torch::Tensor masks, boxes;
  if (instances.masks.defined()) masks = instances.masks.to(torch::kCPU, torch::kUInt8).contiguous();
  // The model's own boxes when it has them (Mask R-CNN's box branch: its bbox AP is scored on
  // them); SOLOv2's are its masks' tight boxes, the same as the RLE's.
  if (instances.boxes.defined()) boxes = instances.boxes.to(torch::kCPU, torch::kDouble).contiguous();
  out.reserve(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i) {
    if (label[i] < 0 || label[i] >= static_cast<std::int64_t>(categories.size()))
      throw Error("model predicted class index " + std::to_string(label[i]) + " but there are " +
                  std::to_string(categories.size()) + " categories");
    Detection d;
    d.image_id = image_id;
    d.category_id = categories[static_cast<std::size_t>(label[i])].id;
    d.score = score[i];
    if (masks.defined()) {
      const auto h = static_cast<std::uint32_t>(masks.size(1)), w = static_cast<std::uint32_t>(masks.size(2));
      Rle rle = rle_encode(masks[i].data_ptr<std::uint8_t>(), h, w);
      d.area = static_cast<double>(rle_area(rle));
      if (d.area <= 0) continue;
      d.bbox = rle_bbox(rle);
      d.segm = std::move(rle);
      if (boxes.defined()) {
        const double* b = boxes[i].data_ptr<double>();
        d.bbox = {b[0], b[1], b[2] - b[0], b[3] - b[1]};
      }
    } else if (boxes.defined()) {
      const double* b = boxes[i].data_ptr<double>();
      d.bbox = {b[0], b[1], b[2] - b[0], b[3] - b[1]};
      d.area = d.bbox[2] * d.bbox[3];
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<Detection> run_inference(Detector& model, std::shared_ptr<const Dataset> dataset,
                                     const std::vector<Category>& categories, const InputOptions& input,
                                     const InferenceOptions& options, const Progress& progress,
                                     const InstancesCallback& on_image) {
  const bool was_training = model.is_training();
  model.eval();
  struct RestoreMode {
    Detector& m;
    bool training;
    ~RestoreMode() { m.train(training); }
  } restore{model, was_training};
  torch::NoGradGuard no_grad;

  LoaderOptions lo;
  lo.batch_size = std::max(1, options.batch_size);
  lo.workers = options.workers;
  lo.train = false;
  lo.rank = options.rank;
  lo.world_size = options.world_size;
  DataLoader loader(dataset, input, lo);
  loader.start_epoch(0);
  const std::size_t total = loader.samples_per_epoch();
  std::size_t done = 0;
  std::vector<Detection> detections;
  progress(0, total, "inference");
  while (auto batch = loader.next()) {
    progress.check_cancel();
    const ImageBatch images = batch->images.to(options.device);
    const std::vector<Instances> predictions = model.predict(images);
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      const std::int64_t id = batch->images.image_ids[i];
      auto dets = instances_to_detections(predictions[i], id, categories);
      detections.insert(detections.end(), std::make_move_iterator(dets.begin()), std::make_move_iterator(dets.end()));
      if (on_image) {
        if (const ImageInfo* info = dataset->image_by_id(id)) on_image(*info, predictions[i]);
      }
    }
    done += predictions.size();
    progress(done, total, "inference");
  }
  return detections;
}

Dataset dataset_from_image_folder(const std::string& dir, const std::vector<Category>& categories) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a folder");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) throw Error(dir + ": no images (.jpg, .jpeg, .png, .bmp) in this folder");
  Dataset ds;
  ds.image_root = dir;
  ds.source = "images:" + dir;
  ds.categories = categories;
  std::int64_t id = 1;
  for (const auto& name : names) {
    ImageInfo info;
    info.id = id++;
    info.file_name = name;
    const auto size = probe_image_size((fs::path(dir) / name).string());
    if (!size) throw Error((fs::path(dir) / name).string() + ": not a readable JPEG/PNG/BMP image");
    info.width = size->width;
    info.height = size->height;
    ds.images.push_back(std::move(info));
  }
  ds.index();
  return ds;
}

}  // namespace studio
