// AGD's initialisation (Algorithm 1, `initialise_weights`): each W_k is drawn uniformly from the
// semi-orthogonal d_k x d_{k-1} matrices and scaled by sqrt(d_k/d_{k-1}), so every singular value
// equals sqrt(d_k/d_{k-1}) and Prescription 1's ||W_k||_* = sqrt(d_k/d_{k-1}) holds at step 0.
// A Haar-uniform draw is the Q of a QR decomposition of a Gaussian matrix with the signs of R's
// diagonal moved into Q (Mezzadri 2007), which is what torch.nn.init.orthogonal_ does.
//
// The draws are made on the host, in the flat parameter layout of the network's architecture,
// and written into the network's store (copied to the device for a CUDA network).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include <Eigen/QR>

#include "agd/core/matrix.hpp"

namespace agd::init {

/// Writes a uniformly random semi-orthogonal rows x cols matrix times `scale` at `out`
/// (column-major, contiguous).
template <class Scalar>
void semi_orthogonal(Scalar* out, Eigen::Index rows, Eigen::Index cols, double scale,
                     std::mt19937_64& rng) {
  const bool tall = rows >= cols;
  const Eigen::Index m = tall ? rows : cols;  // QR of the tall orientation
  const Eigen::Index n = tall ? cols : rows;
  std::normal_distribution<double> gaussian(0.0, 1.0);
  Eigen::MatrixXd a(m, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < m; ++i) a(i, j) = gaussian(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(m, n);
  for (Eigen::Index j = 0; j < n; ++j)
    if (qr.matrixQR()(j, j) < 0) q.col(j) *= -1.0;  // sign fix: makes the draw Haar-uniform
  q *= scale;
  Eigen::Map<matrix<Scalar>> w(out, rows, cols);
  if (tall)
    w = q.cast<Scalar>();
  else
    w = q.transpose().cast<Scalar>();
}

// The QR decomposition's kernels compiled once (see AGD_EXTERN_EIGEN_KERNELS in
// backend/eigen/backend.hpp).
#ifdef AGD_EXTERN_EIGEN_KERNELS
extern template void semi_orthogonal<float>(float*, Eigen::Index, Eigen::Index, double,
                                            std::mt19937_64&);
#endif

/// Orthogonal initialisation of every weight of the architecture `Arch` in the flat layout at
/// `flat` (host memory), W_k scaled by sqrt(d_k/d_{k-1}). A convolution's K*K slices (each a
/// Cout x Cin block of columns) are drawn one by one and scaled by sqrt(Cout/Cin)/sqrt(K*K), as
/// Appendix B's code does.
template <class Arch, class Scalar>
void orthogonal_into(Scalar* flat, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t k = 0; k < Arch::depth; ++k) {
    const auto rows = Eigen::Index(Arch::weight_rows[k]);
    const auto slice_cols = Eigen::Index(Arch::weight_cols[k] / Arch::weight_slices[k]);
    for (std::size_t s = 0; s < Arch::weight_slices[k]; ++s)
      semi_orthogonal(flat + Arch::weight_offsets[k] + s * std::size_t(rows * slice_cols), rows,
                      slice_cols, Arch::agd_scales[k], rng);
  }
}

/// Runs `fill(host_pointer)` on the network's flat weights: in place on a backend whose memory
/// is the host's, through a host copy otherwise.
template <class Net, class Fill>
void fill_weights(Net& net, Fill fill) {
  if constexpr (Net::backend_type::host_memory) {
    fill(net.weight_data());
  } else {
    std::vector<typename Net::scalar_type> host(Net::parameter_count);
    fill(host.data());
    net.weights_from_host(std::span<const typename Net::scalar_type>(host));
  }
}

/// Orthogonal initialisation of every weight of `net` (see orthogonal_into).
template <class Net>
void orthogonal(Net& net, std::uint64_t seed) {
  init::fill_weights(net, [&](typename Net::scalar_type* flat) {
    orthogonal_into<typename Net::architecture_type>(flat, seed);
  });
}

}  // namespace agd::init
