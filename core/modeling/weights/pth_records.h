#pragma once
// The torch-free half of reading a .pth state dict (pth_file.h): the pickles of torch.save, and
// the legacy container around them, turned into named tensor records. Every size, stride and
// offset is checked against its storage and the elements are gathered here, so pth_file.cpp only
// opens zip files (LibTorch's reader) and copies records into tensors. The fuzz target
// fuzz/fuzz_pth.cpp reads files with this part alone.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace studio {

// The element types of torch.<X>Storage.
enum class PthDtype { Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool };

[[nodiscard]] std::size_t pth_element_size(PthDtype dtype);
// "FloatStorage" ... (torch.save's storage class names), and back (false for any other name).
[[nodiscard]] const char* pth_storage_name(PthDtype dtype);
[[nodiscard]] bool pth_dtype_of_storage(const std::string& name, PthDtype& dtype);

struct PthRecord {
  std::string name;
  PthDtype dtype = PthDtype::Float;
  std::vector<std::int64_t> sizes;
  std::string bytes;  // the elements in row-major order: product(sizes) * element size bytes
};

// A zip file's storage record data/<key>, whole; throws studio::Error when there is none.
using PthStorageReader = std::function<std::string(const std::string& key)>;

// The tensors of a zip file's data.pkl, in file order. `file` names the pickle in messages.
// Throws studio::Error naming it and what is wrong (truncated, not a state dict, a tensor outside
// its storage, ...).
[[nodiscard]] std::vector<PthRecord> pth_records_from_pickle(const std::string& file, std::string_view pickle,
                                                             const PthStorageReader& read_storage);

// A file of the legacy format (before PyTorch 1.6): pickles followed by the raw storages.
[[nodiscard]] bool is_legacy_pth(std::string_view bytes);
[[nodiscard]] std::vector<PthRecord> pth_records_from_legacy(const std::string& file, std::string_view bytes);

}  // namespace studio
