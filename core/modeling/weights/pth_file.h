#pragma once
// PyTorch state dict files (.pth / .pt) without Python: the zip format torch.save writes since
// PyTorch 1.6 (archive/data.pkl + archive/data/<key>) and the legacy format before it (a series
// of pickles followed by the raw storages; torchvision's resnet50-19c8e357.pth is one).
//
// The pickles are read by a small unpickler for exactly what torch.save(model.state_dict())
// writes: protocol 2-5 opcodes, collections.OrderedDict (its _metadata state is ignored),
// torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter, and persistent ids
// ('storage', torch.FloatStorage, key, location, numel). torch::pickle_load can't be used: it
// turns an OrderedDict into None. A dict holding the state dict under "state_dict" or "model"
// (mmdet, detectron2 and torchvision-reference checkpoints) is unwrapped.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace studio {

struct PthEntry {
  std::string name;
  torch::Tensor tensor;  // CPU, contiguous, the dtype of the file
};
using StateDictEntries = std::vector<PthEntry>;

// Reads the tensors of a state dict file, in file order. Throws studio::Error naming the file
// and what is wrong (not a PyTorch file, the old tar format, not a state dict, truncated, ...).
[[nodiscard]] StateDictEntries read_pth(const std::string& path);

// Writes `entries` in torch.save's zip format (protocol-2 pickle of an OrderedDict of
// _rebuild_tensor_v2 calls, one storage record per tensor), which Python's torch.load and
// read_pth read. Tensors are written as CPU contiguous copies. Atomic (temp file + rename).
void write_pth(const std::string& path, const StateDictEntries& entries);

// The bytes write_pth would write (for tests and for writing elsewhere).
[[nodiscard]] std::string pth_bytes(const StateDictEntries& entries);

}  // namespace studio
