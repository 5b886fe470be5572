#include "modeling/backbone/mobilenet_v2.h"

#include <algorithm>

namespace studio {

namespace {

// The last features index of each output stage (C2..C5).
constexpr int kStageEnds[4] = {3, 6, 13, 18};

// torchvision's ConvBNReLU: Sequential(conv "0", norm "1", ReLU6 "2"). A Sequential with a
// typed forward, so that it can sit inside another Sequential (AnyModule needs one).
class ConvNormReLU6Impl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(ConvNormReLU6);

// Padding keeps the size (k 3: 1, k 1: 0).
ConvNormReLU6 conv_norm_relu6(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups,
                              const std::string& norm) {
  ConvNormReLU6 s;
  s->push_back(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding((k - 1) / 2).groups(groups).bias(false)));
  s->push_back(make_norm_layer(norm, out));
  s->push_back(torch::nn::ReLU6());
  return s;
}

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio, const std::string& norm)
      : use_residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expand_ratio;
    conv_ = torch::nn::Sequential();
    if (expand_ratio != 1) conv_->push_back(conv_norm_relu6(in, hidden, 1, 1, 1, norm));  // pointwise expand
    conv_->push_back(conv_norm_relu6(hidden, hidden, 3, stride, hidden, norm));           // depthwise
    conv_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out, 1).bias(false)));  // linear
    conv_->push_back(make_norm_layer(norm, out));
    register_module("conv", conv_);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = conv_->forward(x);
    return use_residual_ ? x + y : y;
  }

 private:
  bool use_residual_;
  torch::nn::Sequential conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

}  // namespace

MobileNetV2Impl::MobileNetV2Impl(const BackboneOptions& options) : options_(options) {
  // (expand ratio t, channels c, repeats n, first stride s), torchvision's table.
  const int settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  features = torch::nn::Sequential();
  features->push_back(conv_norm_relu6(3, 32, 3, 2, 1, options.norm));
  int64_t in = 32;
  for (const auto& s : settings)
    for (int i = 0; i < s[2]; ++i) {
      features->push_back(InvertedResidual(in, s[1], i == 0 ? s[3] : 1, s[0], options.norm));
      in = s[1];
    }
  features->push_back(conv_norm_relu6(in, 1280, 1, 1, 1, options.norm));
  register_module("features", features);

  // torchvision's init: Kaiming-normal convs (fan_out), norms at weight 1 / bias 0 (their defaults).
  for (auto& m : modules(false))
    if (auto* c = m->as<torch::nn::Conv2d>())
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut);
  freeze();
}

void MobileNetV2Impl::freeze() {
  if (options_.frozen_stages < 0) return;
  const int last = options_.frozen_stages == 0 ? 0 : kStageEnds[std::min(options_.frozen_stages, 4) - 1];
  for (int i = 0; i <= last; ++i) {
    auto m = features->ptr(i);
    for (auto& p : m->parameters()) p.set_requires_grad(false);
    m->eval();
  }
}

void MobileNetV2Impl::train(bool on) {
  torch::nn::Module::train(on);
  if (on) freeze();
}

std::vector<torch::Tensor> MobileNetV2Impl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> outs;
  torch::Tensor y = x;
  int stage = 0;
  int i = 0;
  for (auto& module : *features) {
    y = module.forward(y);
    if (stage < 4 && i == kStageEnds[stage]) {
      outs.push_back(y);
      ++stage;
    }
    ++i;
  }
  return outs;
}

}  // namespace studio
