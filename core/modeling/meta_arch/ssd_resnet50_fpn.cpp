#include "modeling/meta_arch/ssd_resnet50_fpn.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "modeling/layers/resize.h"
#include "modeling/weights/weight_import.h"

namespace studio {

torch::Tensor pad_same(const torch::Tensor& x, int64_t k, int64_t s, double value) {
  const auto total = [&](int64_t n) { return std::max<int64_t>(((n + s - 1) / s - 1) * s + k - n, 0); };
  const int64_t th = total(x.size(2)), tw = total(x.size(3));
  if (th == 0 && tw == 0) return x;
  namespace F = torch::nn::functional;
  return F::pad(x, F::PadFuncOptions({tw / 2, tw - tw / 2, th / 2, th - th / 2}).value(value));
}

torch::Tensor resize_bilinear_legacy(const torch::Tensor& x, int64_t out_h, int64_t out_w) {
  const int64_t in_h = x.size(2), in_w = x.size(3);
  if (in_h == out_h && in_w == out_w) return x;
  const auto axis = [&](int64_t in, int64_t out) {
    const auto scale = static_cast<float>(in) / static_cast<float>(out);
    const torch::Tensor src = torch::arange(out, x.options().dtype(torch::kFloat)) * scale;
    const torch::Tensor lo = src.floor().to(torch::kLong).clamp_max(in - 1);
    const torch::Tensor hi = (lo + 1).clamp_max(in - 1);
    return std::make_tuple(lo, hi, (src - lo.to(torch::kFloat)).to(x.scalar_type()));
  };
  const auto [x0, x1, wx] = axis(in_w, out_w);
  const auto [y0, y1, wy] = axis(in_h, out_h);
  // TensorFlow's kernel: along x on the two rows, then along y (top + (bottom - top) * lerp).
  const auto along_x = [&](const torch::Tensor& rows) {
    const torch::Tensor l = rows.index_select(3, x0), r = rows.index_select(3, x1);
    return l + (r - l) * wx.view({1, 1, 1, -1});
  };
  const torch::Tensor top = along_x(x.index_select(2, y0)), bottom = along_x(x.index_select(2, y1));
  return top + (bottom - top) * wy.view({1, 1, -1, 1});
}

namespace {

// A convolution with TensorFlow's SAME padding (MindSpore pad_mode 'same'); its parameters are the
// convolution's own (weight, bias).
class SameConv2dImpl : public torch::nn::Conv2dImpl {
 public:
  SameConv2dImpl(int64_t in, int64_t out, int64_t k, int64_t stride, bool bias)
      : Conv2dImpl(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(0).bias(bias)), k_(k), s_(stride) {}
  torch::Tensor forward(const torch::Tensor& x) { return Conv2dImpl::forward(pad_same(x, k_, s_)); }

 private:
  int64_t k_, s_;
};
TORCH_MODULE(SameConv2d);

// PyTorch's momentum is 1 - MindSpore's.
torch::nn::BatchNorm2d bn(int64_t channels, double eps, double ms_momentum) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).eps(eps).momentum(1.0 - ms_momentum));
}

// conv (SAME, no bias) + BN (MindSpore's defaults eps 1e-5, momentum 0.9) + ReLU6: mobilenet_v1.conv_bn_relu.
torch::nn::Sequential conv_bn_relu6(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return torch::nn::Sequential(SameConv2d(in, out, k, stride, false), bn(out, 1e-5, 0.9), torch::nn::ReLU6());
}

// ResidualBlock (bottleneck, expansion 4) or, for depth 18, a basic block of two 3x3 convs.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(int64_t in, int64_t out, int64_t stride, bool bottleneck, double m) : bottleneck_(bottleneck) {
    const int64_t mid = bottleneck ? out / 4 : out;
    if (bottleneck) {
      conv1 = register_module("conv1", SameConv2d(in, mid, 1, 1, false));
      bn1 = register_module("bn1", bn(mid, 1e-3, m));
      conv2 = register_module("conv2", SameConv2d(mid, mid, 3, stride, false));
      bn2 = register_module("bn2", bn(mid, 1e-3, m));
      conv3 = register_module("conv3", SameConv2d(mid, out, 1, 1, false));
      bn3 = register_module("bn3", bn(out, 1e-3, m));
    } else {
      conv1 = register_module("conv1", SameConv2d(in, out, 3, stride, false));
      bn1 = register_module("bn1", bn(out, 1e-3, m));
      conv2 = register_module("conv2", SameConv2d(out, out, 3, 1, false));
      bn2 = register_module("bn2", bn(out, 1e-3, m));
    }
    if (stride != 1 || in != out)
      down_sample_layer = register_module(
          "down_sample_layer", torch::nn::Sequential(SameConv2d(in, out, 1, stride, false), bn(out, 1e-3, m)));
    torch::NoGradGuard no_grad;  // _bn_last: the block's last BN starts at gamma 0
    (bottleneck ? bn3 : bn2)->weight.zero_();
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    if (bottleneck_) y = bn3(conv3(torch::relu(y)));
    return torch::relu(y + (down_sample_layer ? down_sample_layer->forward(x) : x));
  }

  SameConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential down_sample_layer{nullptr};

 private:
  bool bottleneck_;
};
TORCH_MODULE(Block);

class ResNetImpl : public torch::nn::Module {
 public:
  ResNetImpl(int depth, double m) {
    const bool bottleneck = depth == 50;
    const std::array<int, 4> blocks = depth == 50 ? std::array<int, 4>{3, 4, 6, 3} : std::array<int, 4>{2, 2, 2, 2};
    const int64_t expansion = bottleneck ? 4 : 1;
    conv1 = register_module("conv1", SameConv2d(3, 64, 7, 2, false));
    bn1 = register_module("bn1", bn(64, 1e-3, m));
    int64_t in = 64;
    for (int l = 0; l < 4; ++l) {
      const int64_t out = (int64_t{64} << l) * expansion;
      torch::nn::Sequential layer;
      for (int b = 0; b < blocks[static_cast<size_t>(l)]; ++b) {
        layer->push_back(Block(in, out, b == 0 && l > 0 ? 2 : 1, bottleneck, m));
        in = out;
      }
      layers.push_back(register_module("layer" + std::to_string(l + 1), layer));
      channels.push_back(out);
    }
  }

  // {C3, C4, C5}
  std::vector<torch::Tensor> forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(bn1(conv1(x)));
    y = torch::max_pool2d(pad_same(y, 3, 2, -std::numeric_limits<double>::infinity()), 3, 2);
    std::vector<torch::Tensor> out;
    for (size_t l = 0; l < layers.size(); ++l) {
      y = layers[l]->forward(y);
      if (l >= 1) out.push_back(y);
    }
    return out;
  }

  SameConv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  std::vector<torch::nn::Sequential> layers;
  std::vector<int64_t> channels;  // per stage
};
TORCH_MODULE(ResNet);

// ResNetV1Fpn: resnet -> FpnTopDown -> BottomUp(2).
class FeatureExtractorImpl : public torch::nn::Module {
 public:
  FeatureExtractorImpl(int depth, double bn_momentum, int64_t channels) {
    resnet = register_module("resnet", ResNet(depth, bn_momentum));
    auto fpn = register_module("fpn", std::make_shared<torch::nn::Module>());
    lateral = torch::nn::ModuleList();
    outputs = torch::nn::ModuleList();
    for (size_t i = 1; i < 4; ++i) {
      lateral->push_back(SameConv2d(resnet->channels[i], channels, 1, 1, true));
      outputs->push_back(conv_bn_relu6(channels, channels, 3, 1));
    }
    fpn->register_module("lateral_convs_list", lateral);
    fpn->register_module("fpn_convs_list", outputs);
    auto bottom_up = register_module("bottom_up", std::make_shared<torch::nn::Module>());
    blocks = torch::nn::ModuleList();
    for (int i = 0; i < 2; ++i) blocks->push_back(conv_bn_relu6(channels, channels, 3, 2));
    bottom_up->register_module("blocks", blocks);
  }

  std::vector<torch::Tensor> forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> c = resnet->forward(x);
    std::vector<torch::Tensor> lat;
    for (size_t i = 0; i < c.size(); ++i) lat.push_back(lateral->ptr<SameConv2dImpl>(i)->forward(c[i]));
    // Top-down: merged[2] = lateral C5, merged[i] = resize(merged[i + 1]) + lateral Ci.
    std::vector<torch::Tensor> merged(lat.size());
    merged.back() = lat.back();
    for (size_t i = lat.size() - 1; i-- > 0;)
      merged[i] = resize_bilinear_legacy(merged[i + 1], c[i].size(2), c[i].size(3)) + lat[i];
    std::vector<torch::Tensor> out;
    for (size_t i = 0; i < merged.size(); ++i) out.push_back(outputs->ptr<torch::nn::SequentialImpl>(i)->forward(merged[i]));
    for (size_t i = 0; i < blocks->size(); ++i) out.push_back(blocks->ptr<torch::nn::SequentialImpl>(i)->forward(out.back()));
    return out;
  }

  ResNet resnet{nullptr};
  torch::nn::ModuleList lateral{nullptr}, outputs{nullptr}, blocks{nullptr};
};
TORCH_MODULE(FeatureExtractor);

// WeightSharedMultiBox (loc_cls_shared_addition false).
class MultiBoxImpl : public torch::nn::Module {
 public:
  MultiBoxImpl(int64_t channels, int tower_convs, int levels, int64_t anchors, int64_t classes) : classes_(classes) {
    for (const char* tower : {"loc", "cls"}) {
      torch::nn::ModuleList convs, per_level;
      for (int k = 0; k < tower_convs; ++k) convs->push_back(SameConv2d(channels, channels, 3, 1, true));
      for (int l = 0; l < levels; ++l) {
        torch::nn::ModuleList bns;
        for (int k = 0; k < tower_convs; ++k) bns->push_back(bn(channels, 1e-3, 0.97));
        per_level->push_back(bns);
      }
      register_module(std::string(tower) + "_convs", convs);
      register_module(std::string("addition_layer_") + tower, per_level);
      (std::string(tower) == "loc" ? loc_convs : cls_convs) = convs;
      (std::string(tower) == "loc" ? loc_bns : cls_bns) = per_level;
    }
    loc_layers = register_module("loc_layers", torch::nn::ModuleList(SameConv2d(channels, anchors * 4, 3, 1, true)));
    cls_layers =
        register_module("cls_layers", torch::nn::ModuleList(SameConv2d(channels, anchors * classes, 3, 1, true)));
  }

  std::pair<torch::Tensor, torch::Tensor> forward(const std::vector<torch::Tensor>& features) {
    std::vector<torch::Tensor> locs, clss;
    for (size_t l = 0; l < features.size(); ++l) {
      const int64_t b = features[l].size(0);
      locs.push_back(tower(loc_convs, loc_bns, l, features[l], loc_layers).permute({0, 2, 3, 1}).reshape({b, -1, 4}));
      clss.push_back(
          tower(cls_convs, cls_bns, l, features[l], cls_layers).permute({0, 2, 3, 1}).reshape({b, -1, classes_}));
    }
    return {torch::cat(locs, 1), torch::cat(clss, 1)};
  }

  torch::nn::ModuleList loc_convs{nullptr}, cls_convs{nullptr}, loc_bns{nullptr}, cls_bns{nullptr};
  torch::nn::ModuleList loc_layers{nullptr}, cls_layers{nullptr};

 private:
  static torch::Tensor tower(const torch::nn::ModuleList& convs, const torch::nn::ModuleList& bns, size_t level,
                             torch::Tensor x, const torch::nn::ModuleList& last) {
    auto level_bns = bns->ptr<torch::nn::ModuleListImpl>(level);
    for (size_t k = 0; k < convs->size(); ++k)
      x = torch::clamp(level_bns->ptr<torch::nn::BatchNorm2dImpl>(k)->forward(convs->ptr<SameConv2dImpl>(k)->forward(x)),
                       0, 6);
    return last->ptr<SameConv2dImpl>(0)->forward(x);
  }
  int64_t classes_;
};
TORCH_MODULE(MultiBox);

// MindSpore's TruncatedNormal(sigma): normal draws outside +-2 sigma drawn again.
void truncated_normal_(torch::Tensor t, double sigma) {
  t.normal_(0, sigma);
  for (int round = 0; round < 100; ++round) {
    const torch::Tensor out = t.abs() > 2 * sigma;
    const int64_t n = out.sum().item<int64_t>();
    if (n == 0) break;
    t.masked_scatter_(out, torch::empty({n}, t.options()).normal_(0, sigma));
  }
}

}  // namespace

SSDResNetFPNOptions ssd_resnet_fpn_options_from_config(const ConfigNode& model, int num_classes) {
  model.allow({"type", "num_classes", "image_size", "depth", "fpn_channels", "tower_convs", "mean", "std",
               "anchor_scale", "match_iou", "focal_gamma", "focal_alpha", "cls_prior_prob", "resnet_bn_momentum",
               "pretrained", "backbone_init", "test"});
  SSDResNetFPNOptions o;
  o.num_classes = num_classes;
  const auto positive = [&](const char* key, int fallback) {
    const int v = model.get_int(key, fallback);
    if (v <= 0) throw Error(model.where(key) + ": expected a positive number, got " + std::to_string(v));
    return v;
  };
  o.image_size = positive("image_size", o.image_size);
  o.depth = model.get_int("depth", o.depth);
  if (o.depth != 50 && o.depth != 18)
    throw Error(model.where("depth") + ": expected 50 (the reference's ResNet-50) or 18, got " + std::to_string(o.depth));
  o.fpn_channels = positive("fpn_channels", o.fpn_channels);
  o.tower_convs = model.get_int("tower_convs", o.tower_convs);
  if (o.tower_convs < 0) throw Error(model.where("tower_convs") + ": expected 0 or more");
  for (const char* key : {"mean", "std"}) {
    auto& target = std::string(key) == "mean" ? o.mean : o.std;
    const std::vector<double> v = model.get_double_list(key, {target[0], target[1], target[2]});
    if (v.size() != 3) throw Error(model.where(key) + ": expected 3 numbers (R, G, B on 0..255)");
    for (size_t i = 0; i < 3; ++i) target[i] = v[i];
  }
  for (double s : o.std)
    if (!(s > 0)) throw Error(model.where("std") + ": expected positive numbers");
  o.anchor_scale = model.get_double("anchor_scale", o.anchor_scale);
  if (!(o.anchor_scale > 0)) throw Error(model.where("anchor_scale") + ": expected a positive number");
  o.match_iou = model.get_double("match_iou", o.match_iou);
  if (!(o.match_iou > 0 && o.match_iou <= 1)) throw Error(model.where("match_iou") + ": expected a value in (0, 1]");
  o.focal_gamma = model.get_double("focal_gamma", o.focal_gamma);
  if (!(o.focal_gamma >= 0)) throw Error(model.where("focal_gamma") + ": expected a number >= 0");
  o.focal_alpha = model.get_double("focal_alpha", o.focal_alpha);
  if (!(o.focal_alpha >= 0 && o.focal_alpha <= 1)) throw Error(model.where("focal_alpha") + ": expected a value in [0, 1]");
  o.cls_prior_prob = model.get_double("cls_prior_prob", o.cls_prior_prob);
  if (!(o.cls_prior_prob >= 0 && o.cls_prior_prob < 1))
    throw Error(model.where("cls_prior_prob") + ": expected 0 (bias 0, the reference) or a probability in (0, 1)");
  o.resnet_bn_momentum = model.get_double("resnet_bn_momentum", o.resnet_bn_momentum);
  if (!(o.resnet_bn_momentum >= 0 && o.resnet_bn_momentum < 1))
    throw Error(model.where("resnet_bn_momentum") + ": expected a value in [0, 1) (MindSpore's convention: the share of "
                "the running statistics kept at each step)");
  o.pretrained = model.get_path("pretrained", "");
  o.backbone_init = model.get_string("backbone_init", o.backbone_init);
  if (o.backbone_init != "truncated_normal" && o.backbone_init != "kaiming")
    throw Error(model.where("backbone_init") + ": expected truncated_normal (the reference) or kaiming, got '" +
                o.backbone_init + "'");
  const ConfigNode test = model.child("test");
  test.allow({"score_thr", "nms_thr", "max_per_class", "max_per_img"});
  o.test.score_thr = test.get_double("score_thr", o.test.score_thr);
  if (!(o.test.score_thr >= 0 && o.test.score_thr < 1)) throw Error(test.where("score_thr") + ": expected a value in [0, 1)");
  o.test.nms_thr = test.get_double("nms_thr", o.test.nms_thr);
  if (!(o.test.nms_thr > 0 && o.test.nms_thr <= 1)) throw Error(test.where("nms_thr") + ": expected a value in (0, 1]");
  o.test.max_per_class = test.get_int("max_per_class", o.test.max_per_class);
  if (o.test.max_per_class < 1) throw Error(test.where("max_per_class") + ": expected a positive number");
  o.test.max_per_img = test.get_int("max_per_img", o.test.max_per_img);
  if (o.test.max_per_img < 0) throw Error(test.where("max_per_img") + ": expected 0 (no cap) or more");
  return o;
}

SSDResNetFPN::SSDResNetFPN(SSDResNetFPNOptions options) : options_(std::move(options)) {
  if (options_.num_classes < 1) throw Error("ssd_resnet50_fpn: num_classes must be positive");
  GridAnchorOptions ao;
  ao.image_shape = {options_.image_size, options_.image_size};
  ao.scale = options_.anchor_scale;
  anchors_ = grid_anchors(ao);
  auto extractor = FeatureExtractor(options_.depth, options_.resnet_bn_momentum, options_.fpn_channels);
  auto head = MultiBox(options_.fpn_channels, options_.tower_convs, static_cast<int>(ao.steps.size()),
                       ao.anchors_per_location(), options_.num_classes + 1);
  extractor_ = register_module("feature_extractor", extractor);
  head_ = register_module("multi_box", head);

  // init_net_param: TruncatedNormal(0.02) on every weight but BN's gamma (and beta, biases: 0).
  torch::NoGradGuard no_grad;
  for (auto& m : modules(false))
    if (auto* c = m->as<torch::nn::Conv2dImpl>()) {
      truncated_normal_(c->weight, 0.02);
      if (c->bias.defined()) c->bias.zero_();
    }
  if (options_.backbone_init == "kaiming")
    for (auto& m : extractor->resnet->modules(false))
      if (auto* c = m->as<torch::nn::Conv2dImpl>())
        torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (options_.cls_prior_prob > 0) {
    // Object columns start at the prior, the background column (a target of 1 on every unmatched
    // anchor) at 1 - prior. Channel a * (C + 1) + c is anchor a's column c.
    const double bias = -std::log((1 - options_.cls_prior_prob) / options_.cls_prior_prob);
    torch::Tensor b = head->cls_layers->ptr<SameConv2dImpl>(0)->bias.view({-1, options_.num_classes + 1});
    b.fill_(bias);
    b.select(1, 0).fill_(-bias);
  }

  if (!options_.pretrained.empty()) {
    const std::string& path = options_.pretrained;
    StateDictEntries entries = read_pth(path);
    for (auto& e : entries) {
      const auto at = e.name.find(".downsample.");
      if (at != std::string::npos) e.name.replace(at, 12, ".down_sample_layer.");
    }
    const std::string arch = options_.depth == 50 ? "resnet50" : "resnet18";
    const ImportReport r = import_entries(*extractor->resnet, entries, arch);
    if (!r.ok() || !r.unexpected.empty())
      throw Error(path + " (model.pretrained): does not fit the " + arch + " of ssd_resnet50_fpn: " + r.summary());
  }
}

torch::Tensor SSDResNetFPN::normalise(const ImageBatch& batch) const {
  const int64_t s = options_.image_size;
  const torch::Tensor& images = batch.images;
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3)
    throw Error("ssd_resnet50_fpn: expected images [B, 3, H, W]");
  const torch::Tensor x = resize_images_to_square(images, batch.image_sizes, s);
  const auto opts = x.options();
  const torch::Tensor mean = torch::tensor({options_.mean[0], options_.mean[1], options_.mean[2]}).to(opts).view({1, 3, 1, 1});
  const torch::Tensor std = torch::tensor({options_.std[0], options_.std[1], options_.std[2]}).to(opts).view({1, 3, 1, 1});
  return (x - mean) / std;
}

std::vector<torch::Tensor> SSDResNetFPN::features(const torch::Tensor& normalised) {
  return extractor_->as<FeatureExtractorImpl>()->forward(normalised);
}

std::pair<torch::Tensor, torch::Tensor> SSDResNetFPN::forward(const torch::Tensor& normalised) {
  auto out = head_->as<MultiBoxImpl>()->forward(features(normalised));
  if (out.first.size(1) != anchors_.yxhw.size(0))
    throw Error("ssd_resnet50_fpn: the heads predict " + std::to_string(out.first.size(1)) + " boxes for " +
                std::to_string(anchors_.yxhw.size(0)) + " anchors (input " + std::to_string(normalised.size(2)) + "x" +
                std::to_string(normalised.size(3)) + ", image_size " + std::to_string(options_.image_size) + ")");
  return out;
}

LossTerms SSDResNetFPN::losses(const ImageBatch& batch, const std::vector<InstanceTargets>& targets) {
  if (static_cast<int64_t>(targets.size()) != batch.size()) throw Error("ssd_resnet50_fpn: expected one target per image");
  const auto [loc, logits] = forward(normalise(batch));
  const auto device = loc.device();
  std::vector<torch::Tensor> labels, gt_loc;
  int64_t matched = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const InstanceTargets& t = targets[i];
    const auto size = i < batch.image_sizes.size() ? batch.image_sizes[i]
                                                   : std::array<int, 2>{static_cast<int>(batch.images.size(2)),
                                                                        static_cast<int>(batch.images.size(3))};
    torch::Tensor yxyx = torch::zeros({0, 4}), lab = torch::zeros({0}, torch::kLong);
    if (t.size() > 0) {
      const torch::Tensor b = t.boxes.to(torch::kCPU, torch::kFloat);
      const auto h = static_cast<float>(size[0]), w = static_cast<float>(size[1]);
      yxyx = torch::stack({b.select(1, 1) / h, b.select(1, 0) / w, b.select(1, 3) / h, b.select(1, 2) / w}, 1);
      lab = t.labels.to(torch::kCPU, torch::kLong) + 1;
    }
    const GridAnchorTargets enc = grid_anchor_encode(yxyx, lab, anchors_, options_.match_iou);
    labels.push_back(enc.labels);
    gt_loc.push_back(enc.locations);
    matched += enc.num_matched;
  }
  const torch::Tensor label = torch::stack(labels).to(device);
  const torch::Tensor target_loc = torch::stack(gt_loc).to(device, loc.scalar_type());
  namespace F = torch::nn::functional;
  const torch::Tensor one_hot = F::one_hot(label, options_.num_classes + 1).to(logits.scalar_type());
  torch::Tensor cls = sigmoid_focal_loss(logits, one_hot, options_.focal_gamma, options_.focal_alpha).sum();
  const torch::Tensor positive = (label > 0).unsqueeze(-1).to(loc.scalar_type());
  torch::Tensor box = (F::smooth_l1_loss(loc, target_loc, F::SmoothL1LossFuncOptions().reduction(torch::kNone)) * positive).sum();
  const double normaliser = count_reducer_.normaliser(static_cast<double>(matched));
  if (matched == 0 || normaliser <= 0) {
    // No anchor matched in the whole batch (the reference divides by 0): zero terms that keep the graph.
    cls = logits.sum() * 0;
    box = loc.sum() * 0;
  } else {
    cls = cls / normaliser;
    box = box / normaliser;
  }
  return {{"loss_cls", cls}, {"loss_bbox", box}};
}

Instances SSDResNetFPN::postprocess(const torch::Tensor& scores, const torch::Tensor& yxyx,
                                    std::array<int, 2> original_size) const {
  const torch::Tensor scale = torch::tensor({static_cast<float>(original_size[0]), static_cast<float>(original_size[1]),
                                             static_cast<float>(original_size[0]), static_cast<float>(original_size[1])});
  std::vector<torch::Tensor> kept_boxes, kept_scores, kept_labels;
  for (int64_t c = 1; c < scores.size(1); ++c) {
    const torch::Tensor s = scores.select(1, c);
    const torch::Tensor mask = s > options_.test.score_thr;
    const torch::Tensor candidates = s.index({mask});
    if (candidates.size(0) == 0) continue;
    const torch::Tensor boxes = yxyx.index({mask}).to(torch::kFloat) * scale;
    const torch::Tensor keep = nms_plus_one(boxes, candidates, options_.test.nms_thr, options_.test.max_per_class);
    kept_boxes.push_back(boxes.index_select(0, keep));
    kept_scores.push_back(candidates.index_select(0, keep));
    kept_labels.push_back(torch::full({keep.size(0)}, c - 1, torch::kLong));
  }
  if (kept_boxes.empty()) return empty_instances(original_size, false, scores.options());
  const torch::Tensor b = torch::cat(kept_boxes), sc = torch::cat(kept_scores), lab = torch::cat(kept_labels);
  torch::Tensor order = std::get<1>(sc.sort(/*stable=*/true, 0, /*descending=*/true));
  if (options_.test.max_per_img > 0 && order.size(0) > options_.test.max_per_img)
    order = order.slice(0, 0, options_.test.max_per_img);
  Instances out;
  out.boxes = b.index_select(0, order).index_select(1, torch::tensor({1, 0, 3, 2}, torch::kLong));
  out.scores = sc.index_select(0, order).to(torch::kFloat);
  out.labels = lab.index_select(0, order);
  return out;
}

std::vector<Instances> SSDResNetFPN::predict(const ImageBatch& batch) {
  const auto [loc, logits] = forward(normalise(batch));
  const torch::Tensor scores = torch::sigmoid(logits.to(torch::kFloat));
  const torch::Tensor yxyx = grid_anchor_decode(loc.to(torch::kFloat), anchors_.yxhw);
  std::vector<Instances> out;
  for (int64_t b = 0; b < batch.size(); ++b) {
    const auto size = static_cast<size_t>(b) < batch.original_sizes.size()
                          ? batch.original_sizes[static_cast<size_t>(b)]
                          : std::array<int, 2>{options_.image_size, options_.image_size};
    out.push_back(postprocess(scores[b].cpu(), yxyx[b].cpu(), size));
  }
  return out;
}

torch::Tensor SSDResNetFPN::anchors_for(std::array<int, 2> image_size) const {
  (void)image_size;  // every image is resized to the image_size square
  return anchors_.yxyx.index_select(1, torch::tensor({1, 0, 3, 2}, torch::kLong)) * static_cast<double>(options_.image_size);
}

}  // namespace studio
