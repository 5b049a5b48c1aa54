// AGD's initialisation (Algorithm 1, `initialise_weights`): each W_k is drawn uniformly from the
// semi-orthogonal d_k x d_{k-1} matrices and scaled by sqrt(d_k/d_{k-1}), so every singular value
// equals sqrt(d_k/d_{k-1}) and Prescription 1's ||W_k||_* = sqrt(d_k/d_{k-1}) holds at step 0.
// A Haar-uniform draw is the Q of a QR decomposition of a Gaussian matrix with the signs of R's
// diagonal moved into Q (Mezzadri 2007), which is what torch.nn.init.orthogonal_ does.
#pragma once

#include <cstdint>
#include <random>

#include <Eigen/QR>

#include "agd/core/matrix.hpp"

namespace agd::init {

/// Fills `w` (rows x cols) with a uniformly random semi-orthogonal matrix times `scale`.
template <class Scalar>
void semi_orthogonal(matrix<Scalar>& w, double scale, std::mt19937_64& rng) {
  const bool tall = w.rows() >= w.cols();
  const Eigen::Index m = tall ? w.rows() : w.cols();  // QR of the tall orientation
  const Eigen::Index n = tall ? w.cols() : w.rows();
  std::normal_distribution<double> gaussian(0.0, 1.0);
  Eigen::MatrixXd a(m, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < m; ++i) a(i, j) = gaussian(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(m, n);
  for (Eigen::Index j = 0; j < n; ++j)
    if (qr.matrixQR()(j, j) < 0) q.col(j) *= -1.0;  // sign fix: makes the draw Haar-uniform
  q *= scale;
  if (tall)
    w = q.cast<Scalar>();
  else
    w = q.transpose().cast<Scalar>();
}

/// Orthogonal initialisation of every weight of `net`, W_k scaled by sqrt(d_k/d_{k-1}). A
/// convolution's K*K slices (each a Cout x Cin block of columns) are drawn one by one and scaled
/// by sqrt(Cout/Cin)/sqrt(K*K), as Appendix B's code does.
template <class Net>
void orthogonal(Net& net, std::uint64_t seed) {
  using scalar = typename Net::scalar_type;
  std::mt19937_64 rng(seed);
  for (std::size_t k = 0; k < Net::depth; ++k) {
    if (Net::weight_slices[k] == 1) {
      semi_orthogonal(net.weight(k), Net::agd_scales[k], rng);
      continue;
    }
    const auto slice_cols = Eigen::Index(Net::weight_cols[k] / Net::weight_slices[k]);
    matrix<scalar> slice(Eigen::Index(Net::weight_rows[k]), slice_cols);
    for (std::size_t s = 0; s < Net::weight_slices[k]; ++s) {
      semi_orthogonal(slice, Net::agd_scales[k], rng);
      net.weight(k).middleCols(Eigen::Index(s) * slice_cols, slice_cols) = slice;
    }
  }
}

}  // namespace agd::init
