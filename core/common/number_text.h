#pragma once
// Numbers in human-readable messages and tables: up to two decimals, no trailing zeros
// ("10", "10.5", "473.07"), "NaN", "inf", "-inf"; never "-0".
#include <string>

namespace studio {

[[nodiscard]] std::string short_number(double v);

}  // namespace studio
