#pragma once
// Draws the data pipeline makes from its per-sample generators, defined here rather than by
// std::uniform_real_distribution (implementation-defined) so runs repeat across standard libraries.
#include <random>

namespace studio {

// Uniform in [0, 1) from the top 53 bits of one draw.
[[nodiscard]] inline double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace studio
