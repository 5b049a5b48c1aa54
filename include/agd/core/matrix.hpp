// The CPU backend's storage types. Batches are stored as columns: an input batch is a
// d_0 x n matrix whose column j is sample j, so layer k computes H_k = W_k H_{k-1} exactly as
// the paper writes W_k x, and a batch of n <= capacity samples is the contiguous block
// leftCols(n) of a buffer sized once from the network type.
#pragma once

#include <cmath>
#include <optional>

#include <Eigen/Core>

namespace agd {

template <class Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// A writable view of a contiguous column block (no copy, no allocation).
template <class Scalar>
using matrix_ref = Eigen::Ref<matrix<Scalar>>;

/// A read-only view of a contiguous column block. Binding a non-contiguous expression would make
/// Eigen copy it into a temporary; the library only ever passes leftCols() blocks.
template <class Scalar>
using const_matrix_ref = Eigen::Ref<const matrix<Scalar>>;

/// Where a matrix holds its first NaN or infinity (row, column; columns scanned in order), if
/// anywhere: the one scan behind every "input j of sample k is NaN" error, so that each can
/// name the element. A plain loop after Eigen's vectorised allFinite(), which settles the
/// common case.
struct matrix_position {
  Eigen::Index row;
  Eigen::Index col;
};
template <class Derived>
std::optional<matrix_position> first_non_finite(const Eigen::DenseBase<Derived>& m) {
  if (m.allFinite()) return std::nullopt;
  for (Eigen::Index c = 0; c < m.cols(); ++c)
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      if (!std::isfinite(m(r, c))) return matrix_position{r, c};
  return std::nullopt;
}

}  // namespace agd
