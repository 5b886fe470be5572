#pragma once
// Image files without Qt: fast size probing from headers (JPEG, PNG, BMP) and full decoding
// (OpenCV) for the checker. OpenCV stays out of this header.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace studio {

struct ImageSize {
  int width = 0;
  int height = 0;
};

// Reads only the header. Returns nullopt when the file is missing or its header is not a
// recognised JPEG/PNG/BMP header.
[[nodiscard]] std::optional<ImageSize> probe_image_size(const std::string& path);

// Decodes the whole image. Returns its size, or nullopt with `error` set ("cannot open",
// "not a decodable image").
[[nodiscard]] std::optional<ImageSize> decode_image_size(const std::string& path, std::string* error);

// Decodes a single-channel (palette-index) PNG as stored, without colour conversion: VOC
// SegmentationObject masks. Returns row-major bytes; throws studio::Error naming the path.
[[nodiscard]] std::vector<std::uint8_t> read_index_png(const std::string& path, int* width, int* height);

// Writes an RGB (row-major, 3 bytes a pixel) image as JPEG (quality 0..100) or PNG by extension.
void write_rgb_image(const std::string& path, const std::uint8_t* rgb, int width, int height,
                     int jpeg_quality = 92);

}  // namespace studio
