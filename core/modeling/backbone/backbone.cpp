#include "modeling/backbone/backbone.h"

#include <algorithm>

#include "common/error.h"
#include "modeling/backbone/mobilenet_v2.h"
#include "modeling/backbone/resnet.h"
#include "modeling/layers/conv_norm.h"
#include "modeling/layers/frozen_batch_norm.h"
#include "modeling/weights/weight_import.h"

namespace studio {

std::vector<std::string> backbone_types() {
  return {"resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v2"};
}

BackboneOptions backbone_options_from_config(const ConfigNode& node) {
  node.allow({"type", "norm", "norm_eps", "frozen_stages", "pretrained"});
  BackboneOptions o;
  o.type = node.get_choice("type", backbone_types(), o.type);
  o.norm = node.get_choice("norm", {"frozen_bn", "bn", "gn"}, o.norm);
  o.norm_eps = node.get_double("norm_eps", o.norm_eps);
  if (!(o.norm_eps >= 0.0 && o.norm_eps < 1.0))
    throw Error(node.where("norm_eps") + ": expected an epsilon in [0, 1), got " + std::to_string(o.norm_eps));
  o.frozen_stages = node.get_int("frozen_stages", o.frozen_stages);
  if (o.frozen_stages < -1 || o.frozen_stages > 4)
    throw Error(node.where("frozen_stages") + ": expected -1 (nothing frozen) to 4, got " +
                std::to_string(o.frozen_stages));
  o.pretrained = node.get_path("pretrained", "");
  return o;
}

torch::nn::AnyModule make_norm_layer(const std::string& norm, int64_t channels) {
  if (norm == "frozen_bn") return torch::nn::AnyModule(FrozenBatchNorm2d(channels));
  if (norm == "bn") return torch::nn::AnyModule(torch::nn::BatchNorm2d(channels));
  if (norm == "gn") {
    if (channels % 32 != 0)
      throw Error("norm gn: " + std::to_string(channels) + " channels are not divisible into 32 groups");
    return torch::nn::AnyModule(AutocastGroupNorm(torch::nn::GroupNormOptions(32, channels)));
  }
  throw Error("unknown norm '" + norm + "' (expected frozen_bn, bn or gn)");
}

std::shared_ptr<Backbone> build_backbone(const BackboneOptions& options) {
  std::shared_ptr<Backbone> backbone;
  if (options.type == "mobilenet_v2") {
    backbone = MobileNetV2(options).ptr();
  } else {
    const auto types = backbone_types();
    if (std::find(types.begin(), types.end(), options.type) == types.end())
      throw Error("unknown backbone type '" + options.type +
                  "' (expected resnet18, resnet34, resnet50, resnet101 or mobilenet_v2)");
    backbone = ResNet(options).ptr();
  }
  if (options.norm == "frozen_bn") set_frozen_bn_eps(*backbone, options.norm_eps);
  if (!options.pretrained.empty()) {
    const ImportReport report = import_backbone_weights(*backbone, options.pretrained, options.type);
    if (!report.ok())
      throw Error(options.pretrained + ": does not fit backbone " + options.type + ": " + report.summary());
  }
  return backbone;
}

}  // namespace studio
