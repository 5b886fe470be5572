#pragma once
// Numbers in human-readable messages and tables: up to two decimals, no trailing zeros
// ("10", "10.5", "473.07"), "NaN", "inf", "-inf"; never "-0".
#include <string>

namespace studio {

[[nodiscard]] std::string short_number(double v);

// printf's "%.<digits>f" ("0.1235" for 4) and "%.3e" ("1.500e-03"): the training log's numbers.
[[nodiscard]] std::string fixed_number(double v, int digits);
[[nodiscard]] std::string scientific_number(double v);

}  // namespace studio
