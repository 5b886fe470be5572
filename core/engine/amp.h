#pragma once
// Mixed precision for the training step: float16 autocast on CUDA (its dynamic loss scaling lives
// in Trainer::unscale_gradients), bfloat16 autocast on the CPU (float's exponent range, so no scaling;
// oneDNN runs the convolutions in bf16 where the CPU has AVX512-BF16 or AMX).
#include <string>

#include <torch/torch.h>

namespace studio {

enum class AmpMode { Off, CudaFp16, CpuBf16 };
// train.amp: false | true | auto (on CUDA, and on a CPU with native bf16; off on other CPUs,
// where bf16 is emulated and slower than float).
enum class AmpSetting { Off, On, Auto };

// Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16), where CPU autocast pays.
[[nodiscard]] bool cpu_has_native_bf16();

// The mode a run on `device` uses for `setting`. `option` names where the setting came from
// ("--amp" or the recipe key) in the studio::Error for a device mixed precision cannot run on.
[[nodiscard]] AmpMode resolve_amp(AmpSetting setting, const torch::Device& device, const std::string& option);

// Autocast on for its lifetime (the forward pass and the losses); nothing for AmpMode::Off.
class AutocastScope {
 public:
  explicit AutocastScope(AmpMode mode);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  at::DeviceType type_;
  bool on_;
};

}  // namespace studio
