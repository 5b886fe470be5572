#include "modeling/layers/frozen_batch_norm.h"

namespace studio {

FrozenBatchNorm2dImpl::FrozenBatchNorm2dImpl(int64_t num_features, double eps)
    : num_features_(num_features), eps_(eps) {
  weight = register_buffer("weight", torch::ones({num_features}));
  bias = register_buffer("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
}

torch::Tensor FrozenBatchNorm2dImpl::forward(const torch::Tensor& x) {
  // One multiply-add per element instead of batch_norm's normalise + affine: [C] -> [1, C, 1, 1].
  const torch::Tensor scale = weight * (running_var + eps_).rsqrt();
  const torch::Tensor shift = bias - running_mean * scale;
  return x * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1});
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
