#include "engine/device.h"

#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/error.h"

namespace studio {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  if (text == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (text.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("device '" + text + "': no CUDA device is available (this LibTorch build " +
                  std::string(torch::cuda::device_count() == 0 ? "sees no GPU" : "cannot use it") +
                  "); use --device cpu");
    int index = 0;
    if (text.size() > 4) {
      if (text[4] != ':') throw Error("device '" + text + "': expected cpu, cuda, cuda:N or auto");
      try {
        index = std::stoi(text.substr(5));
      } catch (const std::exception&) {
        throw Error("device '" + text + "': expected cpu, cuda, cuda:N or auto");
      }
    }
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index < 0 || index >= count)
      throw Error("device '" + text + "': there are " + std::to_string(count) + " CUDA devices (0.." +
                  std::to_string(count - 1) + ")");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("device '" + text + "': expected cpu, cuda, cuda:N or auto");
}

int set_torch_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return threads;
}

bool keep_freed_tensor_memory() {
#if defined(__GLIBC__)
  // No block is its own mmap (activations at 800x1333 are 100+ MiB; mmap'd, each step faulted
  // them in again: 4x the time of a Mask R-CNN step, bench_mask_rcnn), so the mmap threshold no
  // longer matters; no trimming of the heap top either.
  const bool mmap_ok = mallopt(M_MMAP_MAX, 0) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
  return mmap_ok && trim_ok;
#else
  return false;
#endif
}

}  // namespace studio
