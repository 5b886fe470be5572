#include "modeling/layers/conv_norm.h"

#include <string>

#include "common/error.h"

namespace studio {

ConvNormImpl::ConvNormImpl(const ConvNormOptions& options) : options_(options) {
  if (options.num_groups <= 0 || options.out_channels % options.num_groups != 0)
    throw Error("ConvNorm: GroupNorm groups " + std::to_string(options.num_groups) + " must divide the " +
                std::to_string(options.out_channels) + " output channels");
  const int pad = options.kernel_size / 2;
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels, options.out_channels,
                                                                            options.kernel_size)
                                                       .padding(pad)
                                                       .bias(false)));
  gn = register_module("gn", AutocastGroupNorm(torch::nn::GroupNormOptions(options.num_groups, options.out_channels)));
}

torch::Tensor ConvNormImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = gn->forward(conv->forward(x));
  return options_.relu ? torch::relu(y) : y;
}

void ConvNormImpl::init_normal(double std) {
  torch::NoGradGuard no_grad;
  conv->weight.normal_(0.0, std);
  gn->weight.fill_(1.0);
  gn->bias.zero_();
}

}  // namespace studio
