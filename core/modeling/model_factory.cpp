#include "modeling/model_factory.h"

#include <functional>
#include <map>
#include <memory>

#include "common/error.h"
#include "modeling/backbone/backbone.h"
#include "modeling/meta_arch/mask_rcnn.h"
#include "modeling/meta_arch/solov2.h"
#include "modeling/meta_arch/ssd_lite.h"
#include "modeling/meta_arch/ssd_resnet50_fpn.h"
#include "modeling/neck/fpn.h"

namespace studio {
namespace {

using Builder = std::function<DetectorPtr(const ConfigNode& model, int num_classes)>;

DetectorPtr build_solov2(const ConfigNode& model, int num_classes) {
  model.allow({"type", "num_classes", "backbone", "neck", "head", "test"});
  SOLOv2Options o;
  o.num_classes = num_classes;
  // backbone_options_from_config resolves backbone.pretrained against the recipe, and
  // build_backbone loads it (weights/weight_import.h).
  o.backbone = backbone_options_from_config(model.child("backbone"));
  o.neck = fpn_options_from_config(model.child("neck"));
  o.head = solov2_head_options_from_config(model.child("head"));
  o.test = solov2_test_options_from_config(model.child("test"));
  return std::make_shared<SOLOv2>(std::move(o));
}

DetectorPtr build_mask_rcnn(const ConfigNode& model, int num_classes) {
  return std::make_shared<MaskRCNN>(mask_rcnn_options_from_config(model, num_classes));
}

DetectorPtr build_ssd_lite(const ConfigNode& model, int num_classes) {
  return std::make_shared<SSDLite>(ssd_lite_options_from_config(model, num_classes));
}

DetectorPtr build_ssd_resnet_fpn(const ConfigNode& model, int num_classes) {
  return std::make_shared<SSDResNetFPN>(ssd_resnet_fpn_options_from_config(model, num_classes));
}

// The builders, registered by this explicit call (not static initialisers a static library drops).
const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> registry = [] {
    std::map<std::string, Builder> r;
    r.emplace("solov2", build_solov2);
    r.emplace("mask_rcnn", build_mask_rcnn);
    r.emplace("ssd_mobilenetv2_lite", build_ssd_lite);
    r.emplace("ssd_resnet50_fpn", build_ssd_resnet_fpn);
    return r;
  }();
  return registry;
}

}  // namespace

std::vector<std::string> model_types() {
  std::vector<std::string> out;
  for (const auto& [name, builder] : builders()) out.push_back(name);
  return out;
}

DetectorPtr build_model(const ConfigNode& model) {
  // Each builder allows the keys of its own model (a two-stage model has rpn and roi_heads
  // sections, SOLOv2 a head); here only what every model has.
  (void)model.get_string("type");  // required: a missing type is an error naming the key
  const std::string type = model.get_choice("type", model_types(), "");
  const int num_classes = model.get_int("num_classes");
  if (num_classes < 1) throw Error(model.where("num_classes") + ": expected a positive number of classes");
  return builders().at(type)(model, num_classes);
}

}  // namespace studio
