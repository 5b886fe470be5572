// studio-cli weights import FILE.pth --arch resnet50 [--out FILE] [--force]: reads a PyTorch state
// dict (torchvision's ImageNet file or any torch.save'd state dict), maps it onto the backbone and
// prints what matched; --out saves the backbone's weights for a recipe's model.backbone.pretrained.
// --arch maskrcnn_resnet50_fpn imports a whole torchvision Mask R-CNN (the published COCO file with
// its legacy key names, or a model.state_dict()) and --out writes a checkpoint that `infer
// --weights` and `train --resume`-free fine-tuning read, with torchvision's COCO categories.
// --arch mb2_ssd_lite does the same for qfgaohao's SSD-MobileNetV2-Lite (VOC's 20 classes when the
// file has 21 outputs, in the reference's order).
// --arch ssd_resnet50_fpn imports MindSpore's ssd_resnet50_fpn from its .ckpt (a training checkpoint,
// whose optimizer state is dropped, or one exported for inference): the import must be whole (every
// parameter, no unexpected tensor, no shape mismatch) or nothing is written; COCO's 80 categories
// when the file has 81 classes, in the reference's order.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "engine/checkpoint.h"
#include "modeling/backbone/backbone.h"
#include "modeling/meta_arch/mask_rcnn.h"
#include "modeling/meta_arch/ssd_lite.h"
#include "modeling/meta_arch/ssd_resnet50_fpn.h"
#include "modeling/weights/mindspore_ckpt.h"
#include "modeling/weights/pth_file.h"
#include "modeling/weights/weight_import.h"

namespace studio::cli {

namespace {

struct ImportArgs {
  std::string file;
  std::string arch;
  std::string out;
  bool force = false;
  double norm_eps = -1;  // < 0: chosen from the file
};

void print_keys(const char* title, const std::vector<std::string>& keys) {
  std::cout << title << ": " << keys.size() << "\n";
  for (const auto& k : keys) std::cout << "  " << k << "\n";
}

// torchvision's COCO label names: label k is COCO category id k ("N/A": ids COCO does not use).
const std::vector<std::string>& torchvision_coco_names() {
  static const std::vector<std::string> names = {
      "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
      "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
      "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A",
      "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
      "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
      "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
      "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A", "toilet",
      "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
      "refrigerator", "N/A", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"};
  return names;
}

void print_report(const ImportReport& report) {
  std::cout << "matched: " << report.matched.size() << "\n";
  print_keys("missing", report.missing);
  print_keys("unexpected", report.unexpected);
  print_keys("shape mismatches", report.shape_mismatch);
  std::cout << "dropped (num_batches_tracked): " << report.dropped.size() << "\n";
}

// Writes the imported detector as a checkpoint (when --out is given and the import is whole, or
// --force); returns the exit code.
int write_detector(const ImportArgs& a, const ImportReport& report, Detector& model,
                   const std::vector<Category>& categories) {
  namespace fs = std::filesystem;
  if (a.out.empty()) return report.ok() ? 0 : 1;
  if (!report.ok() && !a.force) {
    std::cerr << "not writing " << a.out << ": " << report.summary() << "\n";
    return 1;
  }
  const fs::path parent = fs::path(a.out).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  save_checkpoint(a.out, model, nullptr, TrainState{}, categories);
  std::cout << "wrote " << a.out << " (a checkpoint: infer --weights " << a.out << ")\n";
  return report.ok() ? 0 : 1;
}

// qfgaohao's SSD-MobileNetV2-Lite: the number of classes comes from the last classification head,
// [6 (C + 1), 64, 1, 1].
int run_import_ssd_lite(const ImportArgs& a, const StateDictEntries& entries) {
  const std::string head_key = "classification_headers.5.weight";
  const torch::Tensor* head = nullptr;
  for (const auto& e : entries) {
    const std::string k = e.name.rfind("module.", 0) == 0 ? e.name.substr(7) : e.name;
    if (k == head_key) head = &e.tensor;
  }
  if (head == nullptr || head->dim() != 4 || head->size(0) % 6 != 0 || head->size(0) < 12 || head->size(1) != 64)
    throw Error(a.file + ": not an SSD-MobileNetV2-Lite state dict of pytorch-ssd (" + head_key +
                (head ? " has shape " + std::string(c10::str(head->sizes())) + ", expected [6 (C + 1), 64, 1, 1]"
                      : " is missing") +
                ")");
  SSDLiteOptions options;
  options.num_classes = static_cast<int>(head->size(0) / 6) - 1;
  SSDLite model(options);
  const ImportReport report = import_entries(model, entries, a.arch);
  std::cout << a.file << ": " << entries.size() << " tensors, architecture " << a.arch << ", "
            << options.num_classes << " classes + background\n";
  print_report(report);
  // The reference's VOC label order (vision/datasets/voc_dataset.py): label k is category id k.
  static const std::vector<std::string> voc = {
      "aeroplane",   "bicycle", "bird",  "boat",      "bottle", "bus",         "car",   "cat",  "chair", "cow",
      "diningtable", "dog",     "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
  std::vector<Category> categories;
  for (int k = 1; k <= options.num_classes; ++k) {
    Category c;
    c.id = k;
    c.name = options.num_classes == 20 ? voc[static_cast<size_t>(k - 1)] : "class_" + std::to_string(k);
    categories.push_back(c);
  }
  return write_detector(a, report, model, categories);
}

// MindSpore's ssd_resnet50_fpn (.ckpt): the number of classes comes from the class head,
// multi_box.cls_layers.0.bias [6 (C + 1)].
int run_import_ssd_resnet_fpn(const ImportArgs& a) {
  {
    // A PyTorch file (zip: "PK", legacy: a pickle's 0x80) would read as a corrupt checkpoint.
    std::ifstream in(a.file, std::ios::binary);
    char head[2] = {0, 0};
    in.read(head, 2);
    if (in.gcount() == 2 && ((head[0] == 'P' && head[1] == 'K') || static_cast<unsigned char>(head[0]) == 0x80))
      throw Error(a.file + ": a PyTorch state dict file; --arch ssd_resnet50_fpn imports MindSpore checkpoints (.ckpt, "
                  "what mindspore.save_checkpoint writes)");
  }
  const StateDictEntries ckpt = read_mindspore_checkpoint(a.file);
  std::vector<std::string> dropped;
  const StateDictEntries entries = mindspore_ssd_resnet_fpn_entries(ckpt, a.file, &dropped);
  const std::string head_key = "multi_box.cls_layers.0.bias";
  const torch::Tensor* head = nullptr;
  for (const auto& e : entries)
    if (e.name == head_key) head = &e.tensor;
  if (head == nullptr || head->dim() != 1 || head->size(0) % 6 != 0 || head->size(0) < 12)
    throw Error(a.file + ": not a MindSpore ssd_resnet50_fpn checkpoint (" + head_key +
                (head ? " has shape " + std::string(c10::str(head->sizes())) + ", expected [6 (C + 1)]" : " is missing") +
                ")");
  SSDResNetFPNOptions options;
  options.num_classes = static_cast<int>(head->size(0) / 6) - 1;
  SSDResNetFPN model(options);
  ImportReport report = import_entries(model, entries, a.arch);
  report.dropped.insert(report.dropped.end(), dropped.begin(), dropped.end());
  std::cout << a.file << ": " << ckpt.size() << " tensors, architecture " << a.arch << ", " << options.num_classes
            << " classes + background\n";
  std::cout << "matched: " << report.matched.size() << "\n";
  print_keys("missing", report.missing);
  print_keys("unexpected", report.unexpected);
  print_keys("shape mismatches", report.shape_mismatch);
  std::cout << "dropped (optimizer state, num_batches_tracked): " << report.dropped.size() << "\n";
  if (!report.ok() || !report.unexpected.empty())
    throw Error(a.file + ": does not fit MindSpore's ssd_resnet50_fpn with " + std::to_string(options.num_classes) +
                " classes (" + report.summary() + ")" + (a.out.empty() ? "" : "; not writing " + a.out));
  // The reference's classes (config/ssd_resnet50_fpn_config.yaml) are COCO's 80 in category id order:
  // torchvision's list less its unused ids.
  std::vector<Category> categories;
  if (options.num_classes == 80) {
    const auto& names = torchvision_coco_names();
    for (size_t id = 1; id < names.size(); ++id) {
      if (names[id] == "N/A") continue;
      Category c;
      c.id = static_cast<int64_t>(id);
      c.name = names[id];
      categories.push_back(c);
    }
  } else {
    for (int k = 1; k <= options.num_classes; ++k) {
      Category c;
      c.id = k;
      c.name = "class_" + std::to_string(k);
      categories.push_back(c);
    }
  }
  return write_detector(a, report, model, categories);
}

// A whole torchvision Mask R-CNN: the number of classes comes from the file's box predictor.
int run_import_detector(const ImportArgs& a, const StateDictEntries& entries) {
  if (a.arch == "mb2_ssd_lite") return run_import_ssd_lite(a, entries);
  namespace fs = std::filesystem;
  const std::string score_key = "roi_heads.box_predictor.cls_score.weight";
  const torch::Tensor* scores = nullptr;
  for (const auto& e : entries) {
    const std::string k = e.name.rfind("module.", 0) == 0 ? e.name.substr(7) : e.name;
    if (k == score_key) scores = &e.tensor;
  }
  if (scores == nullptr || scores->dim() != 2 || scores->size(0) < 2)
    throw Error(a.file + ": not a Mask R-CNN state dict of torchvision (" + score_key +
                (scores ? " has shape " + std::string(c10::str(scores->sizes())) + ", expected [C + 1, 1024]"
                        : " is missing") +
                "); for a backbone's ImageNet file use --arch resnet50");
  const int num_classes = static_cast<int>(scores->size(0)) - 1;

  MaskRCNNOptions options;
  options.num_classes = num_classes;
  options.backbone.type = "resnet50";
  options.neck.layout = "torchvision";
  const bool legacy = has_legacy_mask_rcnn_keys(entries);
  bool has_counters = false;
  for (const auto& e : entries) has_counters = has_counters || e.name.find("num_batches_tracked") != std::string::npos;
  double eps = 1e-5;
  std::string why = "a model.state_dict(): torchvision's FrozenBatchNorm2d default";
  if (a.norm_eps >= 0) {
    eps = a.norm_eps, why = "--norm-eps";
  } else if (legacy) {
    eps = 0.0, why = "legacy key names: torchvision's published COCO file, whose builder sets eps 0 (overwrite_eps)";
  } else if (has_counters) {
    why = "num_batches_tracked present: trained with BatchNorm2d, eps 1e-5";
  }
  options.backbone.norm_eps = eps;
  MaskRCNN model(options);
  const ImportReport report = import_entries(model, entries, a.arch);

  std::cout << a.file << ": " << entries.size() << " tensors, architecture " << a.arch << ", " << num_classes
            << " classes + background" << (legacy ? ", legacy key names" : "") << "\n";
  print_report(report);
  std::cout << "norm_eps: " << eps << " (" << why << "); set model.backbone.norm_eps: " << eps
            << " in the recipe that loads it\n";
  std::vector<Category> categories;
  for (int k = 1; k <= num_classes; ++k) {
    Category c;
    c.id = k;  // label k is category id k, as torchvision writes COCO results
    c.name = num_classes == 90 ? torchvision_coco_names()[static_cast<size_t>(k)] : "class_" + std::to_string(k);
    categories.push_back(c);
  }
  return write_detector(a, report, model, categories);
}

int run_import(const ImportArgs& a) {
  namespace fs = std::filesystem;
  if (!a.out.empty() && fs::exists(a.out) && !a.force)
    throw Error(a.out + ": already exists (pass --force to overwrite)");
  if (a.arch == "ssd_resnet50_fpn") return run_import_ssd_resnet_fpn(a);
  if (is_detector_arch(a.arch)) return run_import_detector(a, read_pth(a.file));
  BackboneOptions options;
  options.type = a.arch;
  options.frozen_stages = -1;
  std::shared_ptr<Backbone> backbone = build_backbone(options);
  const StateDictEntries entries = read_pth(a.file);
  const ImportReport report = import_entries(*backbone, entries, a.arch);

  std::cout << a.file << ": " << entries.size() << " tensors, architecture " << a.arch << "\n";
  std::cout << "matched: " << report.matched.size() << "\n";
  print_keys("missing", report.missing);
  print_keys("unexpected", report.unexpected);
  print_keys("shape mismatches", report.shape_mismatch);
  std::cout << "dropped (not part of the backbone: classifier, num_batches_tracked): "
            << report.dropped.size() << "\n";

  if (!a.out.empty()) {
    if (!report.ok() && !a.force) {
      std::cerr << "not writing " << a.out
                << ": keys are missing or mis-shaped (pass --force to write anyway)\n";
    } else {
      const fs::path parent = fs::path(a.out).parent_path();
      if (!parent.empty()) fs::create_directories(parent);
      write_pth(a.out, module_entries(*backbone));
      std::cout << "wrote " << a.out << "\n";
    }
  }
  return report.ok() ? 0 : 1;
}

}  // namespace

void add_weights_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("weights", "Import pretrained weights from PyTorch .pth files (MindSpore .ckpt for ssd_resnet50_fpn)");
  sub->require_subcommand(1);
  auto* imp = sub->add_subcommand("import",
                                  "Map a PyTorch state dict onto a backbone and report the keys; exit 1 "
                                  "when a key is missing or has the wrong shape");
  auto args = std::make_shared<ImportArgs>();
  imp->add_option("file", args->file, "The .pth/.pt state dict (zip format or legacy); a MindSpore .ckpt for ssd_resnet50_fpn")->required();
  imp->add_option("--arch", args->arch, "Backbone (resnet50, ...) or detector (maskrcnn_resnet50_fpn, mb2_ssd_lite, ssd_resnet50_fpn) architecture")
      ->required()
      ->check(CLI::IsMember(import_archs()));
  imp->add_option("--out", args->out,
                  "Save the backbone's weights here (a .pth for model.backbone.pretrained)");
  imp->add_option("--norm-eps", args->norm_eps,
                  "maskrcnn_resnet50_fpn: the frozen BatchNorm epsilon the weights were trained with "
                  "(default: 0 for the published COCO file, else 1e-5)");
  imp->add_flag("--force", args->force, "Overwrite --out, and write it even when keys are missing");
  out.push_back({sub, [args]() { return run_import(*args); }});
}

}  // namespace studio::cli
