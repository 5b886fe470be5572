#include "engine/amp.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "common/error.h"

namespace studio {

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  return __builtin_cpu_supports("avx512bf16") != 0 || __builtin_cpu_supports("amx-bf16") != 0;
#elif defined(__x86_64__) && defined(__clang__)
  return __builtin_cpu_supports("avx512bf16") != 0;
#else
  return false;  // aarch64 and others: not probed
#endif
}

AmpMode resolve_amp(AmpSetting setting, const torch::Device& device, const std::string& option) {
  if (setting == AmpSetting::Off) return AmpMode::Off;
  if (setting == AmpSetting::Auto && !device.is_cuda() && !cpu_has_native_bf16()) return AmpMode::Off;
  if (device.is_cuda()) {
#ifdef STUDIO_HAS_CUDA
    return AmpMode::CudaFp16;
#else
    throw Error(option + " on " + device.str() + ": this build's LibTorch has no CUDA");
#endif
  }
  if (device.is_cpu()) return AmpMode::CpuBf16;
  throw Error(option + ": mixed precision runs on CUDA (float16) or the CPU (bfloat16), not on " + device.str());
}

AutocastScope::AutocastScope(AmpMode mode)
    : type_(mode == AmpMode::CpuBf16 ? at::kCPU : at::kCUDA), on_(mode != AmpMode::Off) {
  if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  if (type_ == at::kCPU) at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(type_, true);
#else
  if (type_ == at::kCPU) {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  } else {
    at::autocast::set_enabled(true);
  }
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(type_, false);
#else
  if (type_ == at::kCPU) at::autocast::set_cpu_enabled(false);
  else at::autocast::set_enabled(false);
#endif
}

}  // namespace studio
