#include "modeling/neck/fpn.h"

#include "common/error.h"

namespace studio {

FPNOptions fpn_options_from_config(const ConfigNode& node) {
  node.allow({"type", "out_channels", "num_outs", "layout"});
  FPNOptions o;
  (void)node.get_choice("type", {"fpn"}, "fpn");
  o.out_channels = node.get_int("out_channels", o.out_channels);
  if (o.out_channels <= 0)
    throw Error(node.where("out_channels") + ": expected a positive number of channels, got " +
                std::to_string(o.out_channels));
  o.num_outs = node.get_int("num_outs", o.num_outs);
  o.layout = node.get_choice("layout", {"mmdet", "torchvision"}, o.layout);
  if (o.num_outs < 1)
    throw Error(node.where("num_outs") + ": expected at least 1 output level, got " +
                std::to_string(o.num_outs));
  return o;
}

FPNConvImpl::FPNConvImpl(int in_channels, int out_channels, int kernel_size) {
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).padding(kernel_size / 2)));
  // mmdet FPN init: xavier_init(distribution='uniform'), bias 0.
  torch::nn::init::xavier_uniform_(conv->weight);
  torch::nn::init::zeros_(conv->bias);
}

FPNImpl::FPNImpl(const FPNOptions& options) : options_(options) {
  if (options.in_channels.empty()) throw Error("FPN: in_channels is empty (set it from the backbone)");
  if (options.num_outs < static_cast<int>(options.in_channels.size()))
    throw Error("FPN: num_outs " + std::to_string(options.num_outs) + " is fewer than the " +
                std::to_string(options.in_channels.size()) + " input levels");
  if (options.layout != "mmdet" && options.layout != "torchvision")
    throw Error("FPN: unknown layout '" + options.layout + "' (expected mmdet or torchvision)");
  const bool tv = options.layout == "torchvision";
  auto laterals = register_module(tv ? "inner_blocks" : "lateral_convs", torch::nn::ModuleList());
  auto outputs = register_module(tv ? "layer_blocks" : "fpn_convs", torch::nn::ModuleList());
  for (int c : options.in_channels) {
    if (tv) {
      // torchvision: Conv2dNormActivation without norm or activation, i.e. Sequential(conv).
      for (int k : {1, 3}) {
        torch::nn::Conv2d conv(torch::nn::Conv2dOptions(k == 1 ? c : options.out_channels, options.out_channels, k)
                                   .padding(k / 2));
        torch::nn::init::kaiming_uniform_(conv->weight, 1.0);
        torch::nn::init::zeros_(conv->bias);
        (k == 1 ? lateral_ : output_).push_back(conv);
        (k == 1 ? laterals : outputs)->push_back(torch::nn::Sequential(conv));
      }
    } else {
      FPNConv lateral(c, options.out_channels, 1), output(options.out_channels, options.out_channels, 3);
      lateral_.push_back(lateral->conv);
      output_.push_back(output->conv);
      laterals->push_back(lateral);
      outputs->push_back(output);
    }
  }
}

std::vector<torch::Tensor> FPNImpl::forward(const std::vector<torch::Tensor>& inputs) {
  const size_t n = lateral_.size();
  TORCH_CHECK(inputs.size() == n, "FPN expects ", n, " input levels, got ", inputs.size());
  std::vector<torch::Tensor> lat(n);
  for (size_t i = 0; i < n; ++i) lat[i] = lateral_[i]->forward(inputs[i]);
  // Top-down: each level gets the nearest-upsampled level above, at its own exact size (odd
  // input sizes make the coarser map more than half as big, so a factor of 2 would not fit).
  for (size_t i = n - 1; i > 0; --i) {
    const auto size = std::vector<int64_t>{lat[i - 1].size(2), lat[i - 1].size(3)};
    lat[i - 1] =
        lat[i - 1] +
        torch::nn::functional::interpolate(
            lat[i], torch::nn::functional::InterpolateFuncOptions().size(size).mode(torch::kNearest));
  }
  std::vector<torch::Tensor> outs;
  for (size_t i = 0; i < n; ++i) outs.push_back(output_[i]->forward(lat[i]));
  while (static_cast<int>(outs.size()) < options_.num_outs)
    outs.push_back(torch::max_pool2d(outs.back(), 1, 2));
  return outs;
}

}  // namespace studio
