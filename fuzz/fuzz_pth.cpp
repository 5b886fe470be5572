// Fuzz target: .pth state dict files (modeling/weights/pth_records.h, the torch-free half of
// read_pth). An input that starts like a legacy file is read as one; any other input is read as
// the data.pkl of a zip file whose storage records data/<key> hold 1 KiB each. The zip container
// itself is LibTorch's reader (caffe2's PyTorchStreamReader) and is not fuzzed here.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "modeling/weights/pth_records.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fuzz = studio::fuzz;
  const std::string_view bytes = fuzz::as_text(data, size);
  std::vector<studio::PthRecord> records;
  const bool read = fuzz::reads([&] {
    if (studio::is_legacy_pth(bytes)) {
      records = studio::pth_records_from_legacy("fuzz.pth", bytes);
    } else {
      const auto storage = [](const std::string& key) {
        return std::string(1024, static_cast<char>(key.size()));
      };
      records = studio::pth_records_from_pickle("fuzz.pth (data.pkl)", bytes, storage);
    }
  });
  if (!read) return 0;
  // Every record holds exactly its elements: pth_file.cpp copies them into a tensor of its sizes.
  for (const studio::PthRecord& r : records) {
    std::size_t count = 1;
    for (const std::int64_t s : r.sizes) {
      if (s < 0) fuzz::finding(r.name + ": a negative size passed the checks");
      count *= static_cast<std::size_t>(s);
    }
    if (r.bytes.size() != count * studio::pth_element_size(r.dtype))
      fuzz::finding(r.name + ": " + std::to_string(r.bytes.size()) + " bytes for " + std::to_string(count) +
                    " elements");
  }
  return 0;
}
