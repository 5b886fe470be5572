// studio-cli devices [--json]: the devices training can use: "cpu" (with its cores) and each CUDA
// device (index, name, total memory) when this LibTorch has CUDA. The Train page runs it to fill
// its device choice, so the GUI never links torch.
//   cpu      16 cores
//   cuda:0   NVIDIA H100 80GB HBM3, 81008 MiB
// --json: {"cuda_build": bool, "cuda_available": bool,
//          "devices": [{"type": "cpu", "name": "cpu", "cores": 16},
//                      {"type": "cuda", "index": 0, "name": "...", "memory_mb": 81008}]}
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>
#if defined(STUDIO_HAS_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

#include "cli/commands.h"

namespace studio::cli {
namespace {

struct DeviceInfo {
  std::string type, name;
  int index = -1;
  std::int64_t memory_mb = 0;
};

std::vector<DeviceInfo> cuda_devices() {
  std::vector<DeviceInfo> out;
#if defined(STUDIO_HAS_CUDA)
  if (!torch::cuda::is_available()) return out;
  const int count = static_cast<int>(torch::cuda::device_count());
  for (int i = 0; i < count; ++i) {
    const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
    out.push_back({"cuda", p->name, i, static_cast<std::int64_t>(p->totalGlobalMem / (1024 * 1024))});
  }
#else
  // Without the CUDA headers (STUDIO_HAS_CUDA unset) only the count is known; a CPU LibTorch has 0.
  const int count = static_cast<int>(torch::cuda::device_count());
  for (int i = 0; i < count; ++i) out.push_back({"cuda", "CUDA device " + std::to_string(i), i, 0});
#endif
  return out;
}

int run_devices(bool json) {
  const bool cuda_build =
#if defined(STUDIO_HAS_CUDA)
      true;
#else
      false;
#endif
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<DeviceInfo> gpus = cuda_devices();
  if (!json) {
    std::cout << "cpu      " << cores << (cores == 1 ? " core" : " cores") << "\n";
    for (const auto& d : gpus) {
      std::cout << "cuda:" << d.index << "   " << d.name;
      if (d.memory_mb > 0) std::cout << ", " << d.memory_mb << " MiB";
      std::cout << "\n";
    }
    if (gpus.empty())
      std::cout << (cuda_build ? "(no CUDA device visible)\n" : "(this LibTorch has no CUDA; CPU only)\n");
    return 0;
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("cuda_build");
  w.Bool(cuda_build);
  w.Key("cuda_available");
  w.Bool(!gpus.empty());
  w.Key("devices");
  w.StartArray();
  w.StartObject();
  w.Key("type");
  w.String("cpu");
  w.Key("name");
  w.String("cpu");
  w.Key("cores");
  w.Int(cores);
  w.EndObject();
  for (const auto& d : gpus) {
    w.StartObject();
    w.Key("type");
    w.String("cuda");
    w.Key("index");
    w.Int(d.index);
    w.Key("name");
    w.String(d.name.c_str());
    w.Key("memory_mb");
    w.Int64(d.memory_mb);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::cout << buf.GetString() << "\n";
  return 0;
}

}  // namespace

void add_devices_command(CLI::App& app, CommandList& out) {
  auto* sub = app.add_subcommand("devices", "List the devices training can use (cpu, CUDA GPUs)");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print as JSON (for the GUI)");
  out.push_back({sub, [json]() { return run_devices(*json); }});
}

}  // namespace studio::cli
