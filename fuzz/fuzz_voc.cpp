// Fuzz target: Pascal VOC annotation XML (data/voc_reader.h). An input is one annotation file,
// optionally followed by a NUL byte and a names file; it is read as the only image of a VOC root
// in the scratch folder (split "trainval" listing "fuzz"), with the classes found in the files or,
// when a names file is given, the names file's classes.
#include <cstdint>
#include <string>

#include "data/voc_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fuzz = studio::fuzz;
  static const fuzz::Scratch scratch("voc");
  static const std::string root = [] {
    scratch.write("VOC/ImageSets/Main/trainval.txt", "fuzz\n");
    return scratch.path("VOC");
  }();

  const auto parts = fuzz::split_parts(fuzz::as_text(data, size), 2);
  scratch.write("VOC/Annotations/fuzz.xml", parts[0]);
  studio::VocOptions options;
  options.roots = {root};
  options.split = "trainval";
  options.standard_classes = false;
  if (parts.size() > 1) options.names_file = scratch.write("names.txt", parts[1]);
  fuzz::reads([&] { (void)studio::read_voc(options); });
  return 0;
}
