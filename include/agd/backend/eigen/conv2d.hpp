// Conv2d's kernel on the CPU backend: one GEMM per sample on an im2row matrix in the calling
// thread's workspace (backend/eigen/im2row.hpp), sized from the layer's type.
#pragma once

#include <cstddef>

#include <Eigen/Core>

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/im2row.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/conv2d.hpp"

namespace agd {

template <BoundConv2d L>
struct layer_kernel<L, eigen::cpu> {
  static constexpr conv_geometry geometry = L::geometry;
  static constexpr auto positions = Eigen::Index(geometry.positions());
  static constexpr auto patch = Eigen::Index(geometry.patch());
  static constexpr auto out_channels = Eigen::Index(L::output_channels);

  /// One im2row matrix, whatever the number of samples (they are done one after the other).
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t) {
    return geometry.positions() * geometry.patch() * sizeof(S);
  }

  template <class S>
  using plane_map = Eigen::Map<const matrix<S>>;

  template <class S>
  static void forward(eigen::cpu::context&, matrix_view<const S> w, matrix_view<const S> x,
                      matrix_view<S> y, std::byte* workspace) {
    S* scratch = reinterpret_cast<S*>(workspace);
    const Eigen::Map<const matrix<S>> rows(scratch, positions, patch);
    const auto weights = eigen::as_eigen(w);
    for (std::size_t j = 0; j < x.cols; ++j) {
      eigen::im2row(geometry, x.column(j), scratch);
      Eigen::Map<matrix<S>>(y.column(j), positions, out_channels).noalias() =
          rows * weights.transpose();
    }
  }
  /// dW = sum over samples of dY^T R, for the block of output channels whose rows of dY are
  /// given (dy has rows_of_block * Ho*Wo rows; dw has rows_of_block rows).
  template <class S>
  static void backward_weights(eigen::cpu::context&, matrix_view<const S> x,
                               matrix_view<const S> dy, matrix_view<S> dw, std::byte* workspace) {
    S* scratch = reinterpret_cast<S*>(workspace);
    const Eigen::Map<const matrix<S>> rows(scratch, positions, patch);
    auto gradient = eigen::as_eigen(dw);
    gradient.setZero();
    for (std::size_t j = 0; j < x.cols; ++j) {
      eigen::im2row(geometry, x.column(j), scratch);
      gradient.noalias() +=
          plane_map<S>(dy.column(j), positions, Eigen::Index(dw.rows)).transpose() * rows;
    }
  }
  template <class S>
  static void backward_inputs(eigen::cpu::context&, matrix_view<const S> w, matrix_view<const S> dy,
                              matrix_view<S> dx, std::byte* workspace) {
    S* scratch = reinterpret_cast<S*>(workspace);
    Eigen::Map<matrix<S>> rows(scratch, positions, patch);
    const auto weights = eigen::as_eigen(w);
    for (std::size_t j = 0; j < dy.cols; ++j) {
      rows.noalias() = plane_map<S>(dy.column(j), positions, out_channels) * weights;
      std::fill(dx.column(j), dx.column(j) + dx.rows, S(0));
      eigen::row2im_add(geometry, scratch, dx.column(j));
    }
  }
};

}  // namespace agd
