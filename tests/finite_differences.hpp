// Test support for gradient checks in double precision: Gaussian matrices, central differences
// (h = 1e-6: truncation error ~h^2, rounding ~1e-16/h, so ~1e-7 relative agreement is expected)
// and the error measure the checks compare against.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>

#include <agd/core/matrix.hpp>

namespace agd_test {

using mat = agd::matrix<double>;
inline constexpr double finite_difference_step = 1e-6;

/// A rows x cols matrix of independent N(0, 1) draws from `seed`.
inline mat random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gaussian(0.0, 1.0);
  mat m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = gaussian(rng);
  return m;
}

/// max |a - n| / max |n| over all entries: relative to the gradient's scale.
inline double relative_error(const mat& analytic, const mat& numeric) {
  return (analytic - numeric).cwiseAbs().maxCoeff() /
         std::max(1e-12, numeric.cwiseAbs().maxCoeff());
}

/// Central-difference gradient of f with respect to every entry of x (x is restored): a matrix,
/// or a view of one such as a network's weight(k).
template <class Matrix>
mat numeric_gradient(Matrix&& x, const std::function<double()>& f) {
  constexpr double h = finite_difference_step;
  mat g(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double saved = x.data()[i];
    x.data()[i] = saved + h;
    const double plus = f();
    x.data()[i] = saved - h;
    const double minus = f();
    x.data()[i] = saved;
    g.data()[i] = (plus - minus) / (2 * h);
  }
  return g;
}

}  // namespace agd_test
