#include "modeling/layers/frozen_batch_norm.h"

namespace studio {

FrozenBatchNorm2dImpl::FrozenBatchNorm2dImpl(int64_t num_features, double eps)
    : num_features_(num_features), eps_(eps) {
  weight = register_buffer("weight", torch::ones({num_features}));
  bias = register_buffer("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
}

std::pair<torch::Tensor, torch::Tensor> FrozenBatchNorm2dImpl::scale_shift() const {
  const torch::Tensor scale = weight * (running_var + eps_).rsqrt();
  return {scale, bias - running_mean * scale};
}

torch::Tensor FrozenBatchNorm2dImpl::forward(const torch::Tensor& x) {
  // One multiply-add per element instead of batch_norm's normalise + affine: [C] -> [1, C, 1, 1].
  const auto [scale, shift] = scale_shift();
  return x * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1});
}

torch::Tensor conv_then_norm(torch::nn::Conv2dImpl& conv, torch::nn::AnyModule& norm, const torch::Tensor& x) {
  const auto* bn = norm.ptr()->as<FrozenBatchNorm2dImpl>();
  const auto& o = conv.options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  if (bn == nullptr || padding == nullptr || !c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    return norm.forward(conv.forward(x));
  const auto [scale, shift] = bn->scale_shift();
  const torch::Tensor w = conv.weight * scale.view({-1, 1, 1, 1});
  const torch::Tensor b = o.bias() ? shift + conv.bias * scale : shift;
  return torch::conv2d(x, w, b, *o.stride(), **padding, *o.dilation(), o.groups());
}

int set_frozen_bn_eps(torch::nn::Module& module, double eps) {
  int changed = 0;
  for (const auto& m : module.modules(/*include_self=*/true))
    if (auto* bn = m->as<FrozenBatchNorm2dImpl>()) {
      bn->set_eps(eps);
      ++changed;
    }
  return changed;
}

}  // namespace studio
