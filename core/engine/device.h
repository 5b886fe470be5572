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

// Makes glibc keep the memory of freed tensors for reuse instead of handing it back to the
// kernel. By default every block over 128 KiB is its own mmap, unmapped on free, and the heap
// top is trimmed, so each training step faults its activations in again page by page (perf on
// the shapes recipe: 28% of the time in the kernel, half the step). Takes every block
// from the heap (no mmap at all) and turns trimming off; the process keeps its peak heap. Call it
// before the first tensor. Returns false where the C library refused (the defaults remain).
bool keep_freed_tensor_memory();

}  // namespace studio
