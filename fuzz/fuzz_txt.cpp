// Fuzz target: the TXT list of the SSD recipes (data/txt_reader.h). An input is the list,
// optionally followed by a NUL byte and a names file. The image folder does not exist, so every
// image size is probed and found missing (the checker's business, not an error).
#include <cstdint>
#include <string>

#include "data/txt_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fuzz = studio::fuzz;
  static const fuzz::Scratch scratch("txt");
  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  const std::string list = scratch.write("list.txt", parts[0]);
  const std::string names = parts.size() > 1 ? scratch.write("names.txt", parts[1]) : std::string();
  fuzz::reads([&] { (void)studio::read_txt(list, scratch.path("no-images"), names); });
  return 0;
}
