// Checks of the examples' numeric flags, run by CLI11 on the text before it is converted, so
// that nothing is accepted by accident: "-1" for a count (which would wrap to 2^64 - 1), "1e23"
// (which would be converted to something else), "nan" for a rate (which every comparison lets
// through), or a value too large to be meant. Each error quotes what was typed (at most 40
// characters), never a converted 300-digit number. And the checks of path flags that would
// otherwise lose work: an empty path (which would read as "no file": `--resume ""` would start
// afresh and overwrite the checkpoint), and two flags naming one file that either writes.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

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

/// A path flag given as "": refused, since an empty path names no file and the program would
/// otherwise take it for the flag left out.
inline CLI::Validator non_empty_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!text.empty()) return "";
        return "the path is empty, which names no file; give a file name, or leave the flag out";
      },
      "");
}

/// A path flag of a program, for check_separate_files.
struct path_flag {
  std::string flag;  // "--csv"
  std::string path;  // as given; empty: the flag was left out
  bool written;      // the program writes the file (else it only reads it)
  /// A flag that may name the same file (--resume with the --checkpoint it goes on writing).
  std::string may_share_with{};
};

/// The file a path names, as the file system resolves it ("..", "." and symbolic links), so that
/// two spellings of one file compare equal; the path made absolute where that fails.
inline std::filesystem::path resolved_path(const std::string& path) {
  std::error_code error;
  const std::filesystem::path resolved = std::filesystem::weakly_canonical(path, error);
  if (!error) return resolved;
  return std::filesystem::absolute(path, error).lexically_normal();
}

/// Throws std::invalid_argument if two of the given flags name the same file and at least one of
/// them writes it (one would overwrite the other's work: --checkpoint X --csv X), unless they
/// are a pair marked `may_share_with`.
inline void check_separate_files(const std::vector<path_flag>& flags) {
  for (std::size_t i = 0; i < flags.size(); ++i)
    for (std::size_t j = i + 1; j < flags.size(); ++j) {
      const path_flag& a = flags[i];
      const path_flag& b = flags[j];
      if (a.path.empty() || b.path.empty() || !(a.written || b.written)) continue;
      if (a.may_share_with == b.flag || b.may_share_with == a.flag) continue;
      const std::filesystem::path file = resolved_path(a.path);
      if (file != resolved_path(b.path)) continue;
      const path_flag& read = a.written ? b : a;
      const std::string harm = a.written && b.written
                                   ? "one would overwrite the other"
                                   : "writing " + (a.written ? a.flag : b.flag) +
                                         " would replace the file " + read.flag + " reads";
      throw std::invalid_argument(a.flag + " " + a.path + " and " + b.flag + " " + b.path +
                                  " name the same file (" + file.string() + "): " + harm +
                                  "; give each its own file");
    }
}

}  // namespace examples
