#pragma once
// A tiny PNG writer for tests: 8-bit greyscale and 8-bit palette images, stored (uncompressed)
// deflate blocks. OpenCV can't write palette PNGs and the tests don't see OpenCV's headers, yet
// VOC's SegmentationObject masks are palette PNGs, so the tests write the bytes themselves.
#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace studio::test {

inline std::uint32_t png_crc32(const std::uint8_t* data, std::size_t n, std::uint32_t crc = 0xFFFFFFFFu) {
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

inline void png_put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

inline void png_chunk(std::vector<std::uint8_t>& out, const char type[5], const std::vector<std::uint8_t>& data) {
  png_put_be32(out, static_cast<std::uint32_t>(data.size()));
  std::vector<std::uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  png_put_be32(out, png_crc32(body.data(), body.size()) ^ 0xFFFFFFFFu);
}

// Pascal VOC's colour map: index i spreads its bits over R, G, B from the high bit down.
inline std::array<std::uint8_t, 3> voc_palette_colour(int i) {
  int r = 0, g = 0, b = 0;
  for (int j = 0; j < 8; ++j) {
    r |= ((i >> 0) & 1) << (7 - j);
    g |= ((i >> 1) & 1) << (7 - j);
    b |= ((i >> 2) & 1) << (7 - j);
    i >>= 3;
  }
  return {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(b)};
}

// Writes row-major 8-bit `pixels` (width*height) as greyscale (palette = false) or as palette
// indices with VOC's 256-colour palette (palette = true), as VOC's own mask files are stored.
inline void write_index_png(const std::string& path, const std::vector<std::uint8_t>& pixels, int width, int height,
                            bool palette) {
  std::vector<std::uint8_t> raw;  // each row: filter type 0, then the bytes
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);
    raw.insert(raw.end(), pixels.begin() + std::ptrdiff_t(y) * width, pixels.begin() + std::ptrdiff_t(y + 1) * width);
  }
  std::vector<std::uint8_t> z = {0x78, 0x01};  // zlib header, no dictionary
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    z.push_back(last ? 1 : 0);  // BFINAL, BTYPE=00 (stored)
    z.push_back(static_cast<std::uint8_t>(n));
    z.push_back(static_cast<std::uint8_t>(n >> 8));
    z.push_back(static_cast<std::uint8_t>(~n));
    z.push_back(static_cast<std::uint8_t>(~n >> 8));
    z.insert(z.end(), raw.begin() + std::ptrdiff_t(pos), raw.begin() + std::ptrdiff_t(pos + n));
    pos += n;
  } while (pos < raw.size());
  std::uint32_t a = 1, b = 0;  // Adler-32 of the uncompressed data
  for (std::uint8_t c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  png_put_be32(z, (b << 16) | a);

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> ihdr;
  png_put_be32(ihdr, static_cast<std::uint32_t>(width));
  png_put_be32(ihdr, static_cast<std::uint32_t>(height));
  ihdr.insert(ihdr.end(), {8, static_cast<std::uint8_t>(palette ? 3 : 0), 0, 0, 0});
  png_chunk(png, "IHDR", ihdr);
  if (palette) {
    std::vector<std::uint8_t> plte;
    for (int i = 0; i < 256; ++i) {
      const auto c = voc_palette_colour(i);
      plte.insert(plte.end(), c.begin(), c.end());
    }
    png_chunk(png, "PLTE", plte);
  }
  png_chunk(png, "IDAT", z);
  png_chunk(png, "IEND", {});
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
}

}  // namespace studio::test
