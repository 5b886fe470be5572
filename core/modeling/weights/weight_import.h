#pragma once
// Import of ImageNet backbones from PyTorch state dicts: torchvision's ResNet and MobileNetV2
// files (resnet50-19c8e357.pth, mobilenet_v2-b0353104.pth, ...) or what
// `studio-cli weights import --out` wrote. Our backbones use torchvision's names, so the name
// map per architecture drops what a backbone doesn't have (fc.*, classifier.*,
// *.num_batches_tracked) and a "module." prefix (DataParallel checkpoints); every other key is
// kept as is and must match a parameter or buffer.
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "modeling/weights/pth_file.h"

namespace studio {

struct ImportReport {
  std::vector<std::string> matched;         // our keys that got a value
  std::vector<std::string> missing;         // our keys the file doesn't have (they keep their init)
  std::vector<std::string> unexpected;      // file keys (as in the file) with no place in the model
  std::vector<std::string> shape_mismatch;  // "key: file [64, 3, 7, 7], model [64, 3, 3, 3]" (not copied)
  std::vector<std::string> dropped;         // file keys the name map drops on purpose (fc.*, ...)

  [[nodiscard]] bool ok() const { return missing.empty() && shape_mismatch.empty(); }
  // "matched 320, missing 2 (a, b), unexpected 1 (c), shape mismatch 0"
  [[nodiscard]] std::string summary() const;
};

// The architectures import knows: resnet18, resnet34, resnet50, resnet101, mobilenet_v2 (backbones)
// and the whole detectors maskrcnn_resnet50_fpn (torchvision's Mask R-CNN state dict, current or
// legacy key names) and mb2_ssd_lite (qfgaohao's pytorch-ssd SSD-MobileNetV2-Lite, e.g.
// mb2-ssd-lite-mp-0_686.pth: its key names are ours) and ssd_resnet50_fpn (MindSpore's
// ssd_resnet50_fpn .ckpt after mindspore_ssd_resnet_fpn_entries, or our own names).
[[nodiscard]] std::vector<std::string> import_archs();
// True for the archs that name a whole detector rather than a backbone.
[[nodiscard]] bool is_detector_arch(const std::string& arch);
// True when a Mask R-CNN state dict uses the legacy names of torchvision's published COCO file
// (rpn.head.conv.weight, roi_heads.mask_head.mask_fcn1.weight, ...).
[[nodiscard]] bool has_legacy_mask_rcnn_keys(const StateDictEntries& entries);

// torchvision key -> our backbone key for `arch`, or nullopt when the map drops it on purpose.
// Throws studio::Error for an unknown arch.
[[nodiscard]] std::optional<std::string> map_torchvision_key(const std::string& arch, const std::string& key);

// Copies the mapped entries into `module`'s parameters and buffers (named_parameters +
// named_buffers, recursive; converted to their dtype and device) under NoGradGuard.
// Keys our module has that no file key maps to are missing, except num_batches_tracked (a
// trainable BatchNorm's counter, not a weight). `prefix` is put in front of every mapped key
// ("backbone." to import into a whole detector).
ImportReport import_entries(torch::nn::Module& module, const StateDictEntries& entries,
                            const std::string& arch, const std::string& prefix = "");

// read_pth(pth_path) + import_entries(backbone, ..., arch). A file with no fitting key at all
// still returns a report (everything missing); unreadable files throw studio::Error.
ImportReport import_backbone_weights(torch::nn::Module& backbone, const std::string& pth_path,
                                     const std::string& arch);

// An ImageNet MobileNetV2 as SSDLite's base_net (pytorch-ssd's --base_net): torchvision's
// mobilenet_v2 state dict (features.N with nested blocks: conv.0.0, conv.1.0, conv.2, conv.3, what
// `weights import --arch mobilenet_v2 --out` writes too) or pytorch-ssd's own MobileNetV2 (flat
// blocks: conv.0, conv.1, conv.3, ...), renamed to base_net's keys without the "base_net." prefix
// (N.conv.0.weight, ...). The classifier is left out; a file whose keys are neither layout's is
// a studio::Error naming `file` and the first key that fits neither.
[[nodiscard]] StateDictEntries mobilenet_v2_as_ssd_base(const StateDictEntries& entries, const std::string& file);

// The tensors of a MindSpore ssd_resnet50_fpn checkpoint (read_mindspore_checkpoint; a training
// checkpoint, every name under "network.", or one exported for inference, without it) renamed to
// SSDResNetFPN's keys for import_entries(model, ..., "ssd_resnet50_fpn"):
//   BN gamma, beta, moving_mean, moving_variance -> weight, bias, running_mean, running_var;
//   multi_box.addition_layer_{loc,cls}.0.K.features.0.{weight,bias} (the tower conv K, one cell shared
//     by the 5 levels, which MindSpore names after level 0) -> multi_box.{loc,cls}_convs.K.{weight,bias};
//   multi_box.addition_layer_{loc,cls}.L.K.features.1.<bn> -> multi_box.addition_layer_{loc,cls}.L.K.<ours>;
//   every other name is kept (less "network.").
// The optimizer state of a training checkpoint (moments.*, learning_rate, global_step, momentum,
// scale_sense, current_iterator_step, last_overflow_iterator_step, epoch_num, step_num) is left out
// and its names (as in the file) appended to `dropped`. A tensor that is none of these (not
// feature_extractor.* or multi_box.*: a checkpoint of another model) is a studio::Error naming `file`
// and the tensor. Names under feature_extractor.* and multi_box.* are not checked here: what fits no
// parameter is import_entries' unexpected.
[[nodiscard]] StateDictEntries mindspore_ssd_resnet_fpn_entries(const StateDictEntries& ckpt, const std::string& file,
                                                                std::vector<std::string>* dropped = nullptr);

// All parameters and buffers of `module` (named_parameters, then named_buffers not already
// listed) as state dict entries; write_pth(path, module_entries(m)) saves a module's weights
// in the format read_pth and Python's torch.load read.
[[nodiscard]] StateDictEntries module_entries(const torch::nn::Module& module);

}  // namespace studio
