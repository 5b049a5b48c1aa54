// Compile-time arithmetic the network types need: the AGD scales sqrt(d_k/d_{k-1}) are
// constexpr, and std::sqrt is not constexpr in C++20.
#pragma once

#include <cstddef>

namespace agd {

/// Newton's method on doubles. Started above the root, the iterates decrease monotonically until
/// rounding stops them, so stopping at the first non-decrease gives the root to within an ulp.
constexpr double constexpr_sqrt(double x) {
  if (!(x > 0.0)) return 0.0;
  double guess = x > 1.0 ? x : 1.0;
  for (;;) {
    const double next = 0.5 * (guess + x / guess);
    if (next >= guess) return guess;
    guess = next;
  }
}

/// The AGD scale of a weight matrix with `fan_out` rows and `fan_in` columns: sqrt(d_k/d_{k-1})
/// (Algorithm 1 of the paper; `singular_value` in its Appendix B).
constexpr double agd_scale_for(std::size_t fan_out, std::size_t fan_in) {
  return constexpr_sqrt(static_cast<double>(fan_out) / static_cast<double>(fan_in));
}

}  // namespace agd
