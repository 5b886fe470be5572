// studio-cli infer --config X.yaml --weights CKPT (--images DIR | DATASET) --out results.json
//                  [--vis DIR] [--vis-thr 0.3] [--threads N] [--device ...]
// COCO results (segmentation as compressed RLE, bbox = the mask's box, score); with --vis the
// images with the predictions drawn.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/dataset_options.h"
#include "common/atomic_file.h"
#include "common/config.h"
#include "common/error.h"
#include "engine/checkpoint.h"
#include "engine/data_loader.h"
#include "engine/device.h"
#include "engine/inference.h"
#include "engine/instance_drawing.h"
#include "modeling/model_factory.h"

namespace studio::cli {
namespace {

namespace fs = std::filesystem;

struct InferOptions {
  DatasetOptions dataset;
  std::string config, weights, out, vis, device = "auto";
  std::vector<std::string> overrides;
  double vis_thr = 0.3;
  CLI::App* sub = nullptr;
  int threads = 0, batch_size = 1;
};

int run_infer(const InferOptions& o) {
  keep_freed_tensor_memory();
  set_torch_threads(o.threads);
  Config recipe = Config::load(o.config, o.overrides);
  // The checkpoint knows the classes the model was trained on (and so num_classes).
  const CheckpointContents info = read_checkpoint_info(o.weights);
  if (info.categories.empty()) throw Error(o.weights + ": checkpoint lists no categories");
  recipe.set("model.num_classes", std::to_string(info.categories.size()), o.weights);
  DetectorPtr model = build_model(recipe.at("model"));
  load_model_weights(o.weights, *model);
  const torch::Device device = parse_device(o.device);
  model->to(device);

  std::shared_ptr<Dataset> dataset;
  bool dataset_given = false;
  for (const char* name : {"dataset", "--coco", "--voc", "--txt"})
    dataset_given = dataset_given || o.sub->get_option(name)->count() > 0;
  if (!dataset_given && o.sub->get_option("--images")->count() > 0)
    dataset = std::make_shared<Dataset>(
        dataset_from_image_folder(o.sub->get_option("--images")->as<std::string>(), info.categories));
  else
    dataset = std::make_shared<Dataset>(o.dataset.load());
  dataset->index();
  const DataOptions data = data_options_from_config(recipe.at("data"));

  InferenceOptions io;
  io.batch_size = o.batch_size;
  io.workers = data.workers;
  io.device = device;
  if (!o.vis.empty()) {
    std::error_code ec;
    fs::create_directories(o.vis, ec);
    if (!fs::is_directory(o.vis)) throw Error(o.vis + ": cannot create the folder");
  }
  InstancesCallback draw;
  if (!o.vis.empty())
    draw = [&](const ImageInfo& image, const Instances& instances) {
      const std::string name = fs::path(image.file_name).stem().string() + ".jpg";
      draw_instances(dataset->image_path(image), instances, info.categories, o.vis_thr, (fs::path(o.vis) / name).string());
    };
  const std::vector<Detection> dets =
      run_inference(*model, dataset, info.categories, data.test_input, io, terminal_progress(), draw);
  write_file_atomic(o.out, to_coco_results_json(dets));
  std::cout << "wrote " << dets.size() << " detections on " << dataset->images.size() << " images to " << o.out;
  if (!o.vis.empty()) std::cout << " (drawn in " << o.vis << ")";
  std::cout << "\n";
  return 0;
}

}  // namespace

void add_infer_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("infer", "Run a trained model over images or a dataset; write COCO results");
  auto o = std::make_shared<InferOptions>();
  o->sub = sub;
  // --images alone (no --coco/--txt/token) is a plain folder of images.
  o->dataset.add_to(sub);
  sub->add_option("--config", o->config, "Recipe YAML the model was trained with")->required();
  sub->add_option("--weights", o->weights, "Checkpoint (runs/NAME/checkpoints/best.pt or last.pt)")->required();
  sub->add_option("--out", o->out, "Results JSON to write")->required();
  sub->add_option("--vis", o->vis, "Folder to write the images with predictions drawn");
  sub->add_option("--vis-thr", o->vis_thr, "Lowest score drawn")->capture_default_str();
  sub->add_option("-o,--override", o->overrides, "Recipe override key=value")->take_all();
  sub->add_option("--batch-size", o->batch_size, "Images a batch")->capture_default_str();
  sub->add_option("--threads", o->threads, "CPU threads for torch (0: all cores)")->capture_default_str();
  sub->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  out.push_back({sub, [o]() { return run_infer(*o); }});
}

}  // namespace studio::cli
