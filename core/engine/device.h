#pragma once
// Which device a run uses and how many CPU threads torch may take.
#include <string>

#include <torch/torch.h>

namespace studio {

// "cpu", "cuda", "cuda:N" or "auto" (cuda:0 when a GPU is visible, else cpu). Throws
// studio::Error for a CUDA request on a build or machine without one, saying which.
[[nodiscard]] torch::Device parse_device(const std::string& text);

// Sets torch's intra-op threads: `threads` > 0 as given, 0 = every core (LibTorch 1.13 from
// Debian starts with 1). Returns the number set.
int set_torch_threads(int threads);

}  // namespace studio
