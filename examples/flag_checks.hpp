// Checks of the examples' numeric flags, run by CLI11 on the text before it is converted, so
// that nothing is accepted by accident: "-1" for a count (which would wrap to 2^64 - 1), "1e23"
// (which would be converted to something else), "nan" for a rate (which every comparison lets
// through), or a value too large to be meant. Each error quotes what was typed (at most 40
// characters), never a converted 300-digit number.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace examples {

/// Upper bounds of the examples' flags: far above any real use, low enough that a typo is
/// refused. A rate or gain above 10 makes the first steps overflow the weights to Inf.
inline constexpr std::uint64_t max_epochs = 1'000'000;
inline constexpr std::uint64_t max_batch = 1'000'000;
inline constexpr std::uint64_t max_steps_flag = 1'000'000'000;
inline constexpr double max_gain = 10;
inline constexpr double max_learning_rate = 10;

/// "\"1e23\"": the value as typed, cut if long.
inline std::string typed(const std::string& text) {
  return "\"" + (text.size() > 40 ? text.substr(0, 40) + "..." : text) + "\"";
}

/// A whole number in [low, high], digits only (no sign, point or exponent).
inline CLI::Validator whole_number(std::uint64_t low, std::uint64_t high) {
  const std::string range = std::to_string(low) + " to " + std::to_string(high);
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        const std::string wanted = " is not a whole number from " + range;
        if (text.empty() || text.size() > 20 ||
            text.find_first_not_of("0123456789") != std::string::npos)
          return typed(text) + wanted;
        errno = 0;
        const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
        if (errno == ERANGE || value < low || value > high) return typed(text) + wanted;
        return "";
      },
      "INT in " + range);
}

/// A finite number in [low, high], or in (low, high] when `low_excluded`.
inline CLI::Validator finite_number(double low, double high, bool low_excluded = false) {
  const auto bound = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return std::string(text);
  };
  const std::string range = (low_excluded ? "(" : "[") + bound(low) + ", " + bound(high) + "]";
  return CLI::Validator(
      [low, high, low_excluded, range](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) ||
            value < low || value > high || (low_excluded && value == low))
          return typed(text) + " is not a finite number in " + range;
        return "";
      },
      "NUMBER in " + range);
}

}  // namespace examples
