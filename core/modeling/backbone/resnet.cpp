#include "modeling/backbone/resnet.h"

#include <ATen/autocast_mode.h>

#include "common/error.h"
#include "modeling/layers/frozen_batch_norm.h"

namespace studio {

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

// Zero gamma of the last norm of a residual branch: the block starts as the identity, which
// makes training from scratch stable (Goyal et al. 2017). Only for trainable norms.
void zero_gamma(torch::nn::AnyModule& norm) {
  torch::NoGradGuard no_grad;
  for (auto& p : norm.ptr()->named_parameters(false))
    if (p.key() == "weight") p.value().zero_();
}

// The two residual blocks; `expansion` is how much wider the output is than `planes`.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(bool bottleneck, int64_t in, int64_t planes, int64_t stride, const std::string& norm)
      : bottleneck_(bottleneck) {
    const int64_t out = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv(in, planes, 1, 1));
      bn1_ = make_norm_layer(norm, planes);
      register_module("bn1", bn1_.ptr());
      conv2_ = register_module("conv2", conv(planes, planes, 3, stride));  // stride on the 3x3 (v1.5)
      bn2_ = make_norm_layer(norm, planes);
      register_module("bn2", bn2_.ptr());
      conv3_ = register_module("conv3", conv(planes, out, 1, 1));
      bn3_ = make_norm_layer(norm, out);
      register_module("bn3", bn3_.ptr());
    } else {
      conv1_ = register_module("conv1", conv(in, planes, 3, stride));
      bn1_ = make_norm_layer(norm, planes);
      register_module("bn1", bn1_.ptr());
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
      bn2_ = make_norm_layer(norm, planes);
      register_module("bn2", bn2_.ptr());
    }
    if (stride != 1 || in != out) {
      downsample_ = torch::nn::Sequential();
      ds_conv_ = conv(in, out, 1, stride);
      ds_norm_ = make_norm_layer(norm, out);
      downsample_->push_back(ds_conv_);
      downsample_->push_back(ds_norm_);
      register_module("downsample", downsample_);
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = torch::relu(conv_then_norm(*conv1_, bn1_, x));
    y = conv_then_norm(*conv2_, bn2_, y);
    if (bottleneck_) y = conv_then_norm(*conv3_, bn3_, torch::relu(y));
    const torch::Tensor identity = downsample_ ? conv_then_norm(*ds_conv_, ds_norm_, x) : x;
    return torch::relu(y + identity);
  }

  torch::nn::AnyModule& last_norm() { return bottleneck_ ? bn3_ : bn2_; }

 private:
  bool bottleneck_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::AnyModule bn1_, bn2_, bn3_;
  torch::nn::Sequential downsample_{nullptr};  // keys downsample.0 (ds_conv_), downsample.1 (ds_norm_)
  torch::nn::Conv2d ds_conv_{nullptr};
  torch::nn::AnyModule ds_norm_;
};
TORCH_MODULE(Block);

}  // namespace

std::vector<int> ResNetImpl::stage_blocks(const std::string& type) {
  if (type == "resnet18") return {2, 2, 2, 2};
  if (type == "resnet34" || type == "resnet50") return {3, 4, 6, 3};
  if (type == "resnet101") return {3, 4, 23, 3};
  throw Error("unknown ResNet type '" + type + "' (expected resnet18, resnet34, resnet50 or resnet101)");
}

bool ResNetImpl::uses_bottleneck(const std::string& type) {
  return type == "resnet50" || type == "resnet101";
}

ResNetImpl::ResNetImpl(const BackboneOptions& options) : options_(options) {
  const std::vector<int> blocks = stage_blocks(options.type);
  const bool bottleneck = uses_bottleneck(options.type);
  conv1 = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = make_norm_layer(options.norm, 64);
  register_module("bn1", bn1.ptr());
  int64_t in = 64;
  std::vector<Block> all_blocks;
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = 64 << s;
    torch::nn::Sequential layer;
    for (int b = 0; b < blocks[s]; ++b) {
      Block block(bottleneck, in, planes, (b == 0 && s > 0) ? 2 : 1, options.norm);
      all_blocks.push_back(block);
      layer->push_back(block);
      in = bottleneck ? planes * 4 : planes;
    }
    layers_.push_back(register_module("layer" + std::to_string(s + 1), layer));
  }

  // Init for training from scratch (torchvision's): Kaiming-normal convs (fan_out, relu), norm
  // weight 1 / bias 0 (the norm modules' own defaults), zero gamma closing each residual branch.
  for (auto& m : modules(false))
    if (auto* c = m->as<torch::nn::Conv2d>())
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (options.norm != "frozen_bn")
    for (auto& block : all_blocks) zero_gamma(block->last_norm());
  freeze();
}

std::vector<int> ResNetImpl::out_channels() const {
  if (uses_bottleneck(options_.type)) return {256, 512, 1024, 2048};
  return {64, 128, 256, 512};
}

void ResNetImpl::freeze() {
  if (options_.frozen_stages < 0) return;
  std::vector<std::shared_ptr<torch::nn::Module>> frozen = {conv1.ptr(), bn1.ptr()};
  for (int s = 0; s < options_.frozen_stages && s < 4; ++s) frozen.push_back(layers_[s].ptr());
  for (auto& m : frozen) {
    for (auto& p : m->parameters()) p.set_requires_grad(false);
    m->eval();
  }
}

void ResNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (on) freeze();  // set_requires_grad again is harmless; what matters is eval() of the frozen parts
}

std::vector<torch::Tensor> ResNetImpl::forward(const torch::Tensor& input) {
  // On the CPU in float32 the backbone runs channels-last (NHWC), and so does what follows it: oneDNN
  // convolves that layout as it is, where NCHW costs a reorder into its blocked layout and back
  // around every convolution, forward and backward. A ResNet-50 step (forward and backward, 2 images
  // 800x1344, 2 threads) takes half the time.
  const bool nhwc = input.is_cpu() && input.dim() == 4 && input.scalar_type() == torch::kFloat32 &&
                    !at::autocast::is_cpu_enabled();
  const torch::Tensor x = nhwc ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
  torch::Tensor y = torch::relu(conv_then_norm(*conv1, bn1, x));
  // [B, 64, H/4, W/4]. Under CPU autocast (bfloat16) LibTorch 1.13 pools a channels-last map much
  // faster than a contiguous one: 9.8 ms forward and backward against 16.5 ms for [16, 64, 64, 64],
  // the conversions included (in float channels-last is the slower: 21 ms against 15.7 ms).
  if (y.is_cpu() && y.scalar_type() == torch::kBFloat16)
    y = torch::max_pool2d(y.contiguous(at::MemoryFormat::ChannelsLast), 3, 2, 1).contiguous();
  else
    y = torch::max_pool2d(y, 3, 2, 1);
  std::vector<torch::Tensor> outs;
  for (auto& layer : layers_) {
    y = layer->forward(y);
    outs.push_back(y);
  }
  return outs;
}

}  // namespace studio
