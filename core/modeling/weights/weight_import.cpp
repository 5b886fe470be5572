#include "modeling/weights/weight_import.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "common/error.h"

namespace studio {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream o;
  o << "[";
  for (int64_t d = 0; d < t.dim(); ++d) o << (d ? ", " : "") << t.size(d);
  o << "]";
  return o.str();
}

std::string list_text(const std::vector<std::string>& keys, size_t max_shown = 8) {
  std::string s;
  for (size_t i = 0; i < keys.size() && i < max_shown; ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > max_shown) s += ", ... " + std::to_string(keys.size() - max_shown) + " more";
  return s;
}

}  // namespace

std::string ImportReport::summary() const {
  std::string s = "matched " + std::to_string(matched.size());
  s += ", missing " + std::to_string(missing.size());
  if (!missing.empty()) s += " (" + list_text(missing) + ")";
  s += ", unexpected " + std::to_string(unexpected.size());
  if (!unexpected.empty()) s += " (" + list_text(unexpected) + ")";
  s += ", shape mismatch " + std::to_string(shape_mismatch.size());
  if (!shape_mismatch.empty()) s += " (" + list_text(shape_mismatch) + ")";
  return s;
}

std::vector<std::string> import_archs() {
  return {"resnet18",     "resnet34",        "resnet50",    "resnet101", "mobilenet_v2", "maskrcnn_resnet50_fpn",
          "mb2_ssd_lite", "ssd_resnet50_fpn"};
}

bool is_detector_arch(const std::string& arch) {
  return arch == "maskrcnn_resnet50_fpn" || arch == "mb2_ssd_lite" || arch == "ssd_resnet50_fpn";
}

namespace {

// torchvision's Mask R-CNN renames the published COCO file's keys when loading it (metadata
// version < 2): rpn.head.conv.* -> rpn.head.conv.0.0.*, roi_heads.mask_head.mask_fcn{1..4}.* ->
// roi_heads.mask_head.{0..3}.0.*. Current names pass unchanged.
std::string map_legacy_mask_rcnn_key(const std::string& k, bool* legacy) {
  const std::string conv = "rpn.head.conv.";
  if (starts_with(k, conv) && !starts_with(k, conv + "0.0.")) {
    if (legacy) *legacy = true;
    return conv + "0.0." + k.substr(conv.size());
  }
  const std::string fcn = "roi_heads.mask_head.mask_fcn";
  if (starts_with(k, fcn) && k.size() > fcn.size() + 1 && k[fcn.size() + 1] == '.' &&
      k[fcn.size()] >= '1' && k[fcn.size()] <= '9') {
    if (legacy) *legacy = true;
    return "roi_heads.mask_head." + std::to_string(k[fcn.size()] - '1') + ".0." + k.substr(fcn.size() + 2);
  }
  return k;
}

}  // namespace

bool has_legacy_mask_rcnn_keys(const StateDictEntries& entries) {
  bool legacy = false;
  for (const auto& e : entries) {
    const std::string k = starts_with(e.name, "module.") ? e.name.substr(7) : e.name;
    (void)map_legacy_mask_rcnn_key(k, &legacy);
  }
  return legacy;
}

std::optional<std::string> map_torchvision_key(const std::string& arch, const std::string& key) {
  const auto archs = import_archs();
  if (std::find(archs.begin(), archs.end(), arch) == archs.end())
    throw Error("unknown architecture '" + arch +
                "' (expected resnet18, resnet34, resnet50, resnet101, mobilenet_v2, maskrcnn_resnet50_fpn, "
                "mb2_ssd_lite or ssd_resnet50_fpn)");
  std::string k = starts_with(key, "module.") ? key.substr(7) : key;  // saved from DataParallel
  if (ends_with(k, ".num_batches_tracked")) return std::nullopt;      // a counter, not a weight
  if (arch == "mb2_ssd_lite") return k;  // our names are qfgaohao's pytorch-ssd's
  if (arch == "ssd_resnet50_fpn") return k;  // renamed by mindspore_ssd_resnet_fpn_entries (or ours already)
  if (is_detector_arch(arch)) return map_legacy_mask_rcnn_key(k, nullptr);  // our names are torchvision's
  // The ImageNet classifier has no place in a detection backbone.
  if (arch == "mobilenet_v2" ? starts_with(k, "classifier.") : starts_with(k, "fc.")) return std::nullopt;
  return k;  // our names are torchvision's
}

ImportReport import_entries(torch::nn::Module& module, const StateDictEntries& entries,
                            const std::string& arch, const std::string& prefix) {
  std::map<std::string, torch::Tensor> targets;
  std::vector<std::string> order;  // the module's own order, for the missing list
  for (auto& p : module.named_parameters(true))
    if (targets.emplace(p.key(), p.value()).second) order.push_back(p.key());
  for (auto& b : module.named_buffers(true))
    if (targets.emplace(b.key(), b.value()).second) order.push_back(b.key());

  ImportReport report;
  std::set<std::string> filled;
  torch::NoGradGuard no_grad;
  for (const auto& e : entries) {
    const std::optional<std::string> mapped = map_torchvision_key(arch, e.name);
    if (!mapped) {
      report.dropped.push_back(e.name);
      continue;
    }
    const std::string key = prefix + *mapped;
    auto it = targets.find(key);
    if (it == targets.end()) {
      report.unexpected.push_back(e.name);
      continue;
    }
    if (!it->second.sizes().equals(e.tensor.sizes())) {
      report.shape_mismatch.push_back(key + ": file " + shape_text(e.tensor) + ", model " +
                                      shape_text(it->second));
      filled.insert(key);  // reported once, as a mismatch, not again as missing
      continue;
    }
    it->second.copy_(e.tensor.to(it->second.dtype()));
    if (filled.insert(key).second) report.matched.push_back(key);
  }
  for (const auto& key : order) {
    if (!starts_with(key, prefix) || filled.count(key)) continue;
    if (ends_with(key, "num_batches_tracked")) continue;
    report.missing.push_back(key);
  }
  return report;
}

ImportReport import_backbone_weights(torch::nn::Module& backbone, const std::string& pth_path,
                                     const std::string& arch) {
  return import_entries(backbone, read_pth(pth_path), arch);
}

namespace {

// "12.conv.1.0.weight" -> {"12", "conv.1.0.weight"}; nullopt when the key is not features.N.*.
std::optional<std::pair<int, std::string>> split_feature_key(const std::string& key) {
  const std::string k = starts_with(key, "module.") ? key.substr(7) : key;
  if (!starts_with(k, "features.")) return std::nullopt;
  const std::size_t dot = k.find('.', 9);
  if (dot == std::string::npos || dot == 9) return std::nullopt;
  const std::string index = k.substr(9, dot - 9);
  if (index.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::make_pair(std::stoi(index), k.substr(dot + 1));
}

}  // namespace

StateDictEntries mobilenet_v2_as_ssd_base(const StateDictEntries& entries, const std::string& file) {
  // torchvision nests each block's layers (conv.0.0 = the first conv of the first Conv2dNormActivation);
  // pytorch-ssd's blocks are one flat Sequential.
  bool nested = false;
  for (const auto& e : entries) {
    const auto f = split_feature_key(e.name);
    if (f && starts_with(f->second, "conv.") && f->second.size() > 7 && std::isdigit(static_cast<unsigned char>(f->second[5])) &&
        f->second[6] == '.' && std::isdigit(static_cast<unsigned char>(f->second[7])))
      nested = true;
  }
  StateDictEntries out;
  for (const auto& e : entries) {
    const std::string k = starts_with(e.name, "module.") ? e.name.substr(7) : e.name;
    if (starts_with(k, "classifier.")) continue;  // ImageNet's classifier has no place in SSD
    const auto f = split_feature_key(e.name);
    if (!f) throw Error(file + ": key '" + e.name + "' is not a MobileNetV2 features.N key (expected torchvision's "
                        "mobilenet_v2 or pytorch-ssd's MobileNetV2 state dict)");
    const auto [index, rest] = *f;
    std::string mapped = rest;
    if (nested && index >= 1 && index <= 17 && starts_with(rest, "conv.")) {
      // torchvision layer -> the flat layer of pytorch-ssd's block (ReLU6 layers take places 2 and 5).
      // Block 1 (expansion 1): conv.0.{0,1} -> 0, 1; conv.1 -> 3; conv.2 -> 4.
      // Others:                conv.0.{0,1} -> 0, 1; conv.1.{0,1} -> 3, 4; conv.2 -> 6; conv.3 -> 7.
      const std::string tail = rest.substr(5);  // "1.0.weight" or "2.weight"
      const std::size_t d1 = tail.find('.');
      const int a = std::stoi(tail.substr(0, d1));
      const std::string after = tail.substr(d1 + 1);
      const bool sub = !after.empty() && std::isdigit(static_cast<unsigned char>(after[0]));
      const int b = sub ? after[0] - '0' : 0;
      const std::string param = sub ? after.substr(2) : after;
      int flat = -1;
      if (index == 1) {
        flat = sub && a == 0 ? b : !sub && a == 1 ? 3 : !sub && a == 2 ? 4 : -1;
      } else {
        flat = sub && a <= 1 ? 3 * a + b : !sub && a == 2 ? 6 : !sub && a == 3 ? 7 : -1;
      }
      if (flat < 0) throw Error(file + ": key '" + e.name + "' fits no layer of a MobileNetV2 block");
      mapped = "conv." + std::to_string(flat) + "." + param;
    }
    out.push_back({std::to_string(index) + "." + mapped, e.tensor});
  }
  return out;
}

namespace {

// MindSpore's optimizer and loss-scale state in a training checkpoint (not weights).
bool is_mindspore_training_state(const std::string& k) {
  static const std::set<std::string> scalars = {"learning_rate", "global_step", "momentum", "scale_sense",
                                                "current_iterator_step", "last_overflow_iterator_step",
                                                "epoch_num", "step_num"};
  return starts_with(k, "moments.") || scalars.count(k) > 0;
}

// "gamma" -> "weight", ...; nullopt for a name that is not a BatchNorm's.
std::optional<std::string> mindspore_bn_name(const std::string& param) {
  if (param == "gamma") return std::string("weight");
  if (param == "beta") return std::string("bias");
  if (param == "moving_mean") return std::string("running_mean");
  if (param == "moving_variance") return std::string("running_var");
  return std::nullopt;
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t dot; (dot = s.find('.', from)) != std::string::npos; from = dot + 1) out.push_back(s.substr(from, dot - from));
  out.push_back(s.substr(from));
  return out;
}

}  // namespace

StateDictEntries mindspore_ssd_resnet_fpn_entries(const StateDictEntries& ckpt, const std::string& file,
                                                   std::vector<std::string>* dropped) {
  StateDictEntries out;
  for (const auto& e : ckpt) {
    const std::string k = starts_with(e.name, "network.") ? e.name.substr(8) : e.name;
    if (is_mindspore_training_state(k)) {
      if (dropped) dropped->push_back(e.name);
      continue;
    }
    if (!starts_with(k, "feature_extractor.") && !starts_with(k, "multi_box."))
      throw Error(file + ": tensor '" + e.name +
                  "' is not a parameter of MindSpore's ssd_resnet50_fpn (expected feature_extractor.*, multi_box.* "
                  "or optimizer state)");
    std::vector<std::string> parts = split_dots(k);
    // multi_box.addition_layer_{loc,cls}.LEVEL.K.features.{0,1}.PARAM: ConvBNReLU K of a level's tower.
    if (parts.size() == 7 && parts[0] == "multi_box" &&
        (parts[1] == "addition_layer_loc" || parts[1] == "addition_layer_cls") && all_digits(parts[2]) &&
        all_digits(parts[3]) && parts[4] == "features") {
      const std::string tower = parts[1].substr(15);  // loc, cls
      if (parts[5] == "0" && parts[2] == "0") {
        // The conv shared by the 5 levels, named after level 0's path.
        out.push_back({"multi_box." + tower + "_convs." + parts[3] + "." + parts[6], e.tensor});
        continue;
      }
      const auto bn = mindspore_bn_name(parts[6]);
      if (parts[5] == "1" && bn) {
        out.push_back({"multi_box." + parts[1] + "." + parts[2] + "." + parts[3] + "." + *bn, e.tensor});
        continue;
      }
      out.push_back({k, e.tensor});  // no place in our model: reported as unexpected
      continue;
    }
    if (const auto bn = mindspore_bn_name(parts.back())) {
      parts.back() = *bn;
      std::string name = parts[0];
      for (std::size_t i = 1; i < parts.size(); ++i) name += "." + parts[i];
      out.push_back({name, e.tensor});
      continue;
    }
    out.push_back({k, e.tensor});
  }
  return out;
}

StateDictEntries module_entries(const torch::nn::Module& module) {
  StateDictEntries out;
  std::set<std::string> seen;
  for (auto& p : module.named_parameters(true))
    if (seen.insert(p.key()).second) out.push_back({p.key(), p.value()});
  for (auto& b : module.named_buffers(true))
    if (seen.insert(b.key()).second) out.push_back({b.key(), b.value()});
  return out;
}

}  // namespace studio
