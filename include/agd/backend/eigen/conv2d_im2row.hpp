// Conv2d on the CPU backend with Eigen's GEMM (double precision, and builds without oneDNN;
// backend/eigen/conv2d.hpp chooses): large GEMMs over stacked samples. A thread's block of
// samples is taken in chunks of c samples; the patch matrices of a chunk are stacked into one
// (c*P) x Q matrix Rs (P output positions, Q = K*K*Cin patch entries; layers/conv_geometry.hpp)
// in the calling thread's workspace, as the CUDA backend stacks the whole batch, so that
//   forward           Ts = Rs W^T            (c*P x Cout), then Ts unstacked into the CHW outputs;
//   input gradient    dRs = stack(dY) W      (c*P x Q), then row2im adds it onto dX;
//   weight gradient   dW += stack(dY)^T Rs   (Cout x Q, summed over c*P positions per GEMM).
// c is chosen from the layer's type. An image of at least `direct_rows` positions is a GEMM of
// its own (c = 1): then the GEMMs read dY and write Y in the network's buffers directly, as a
// sample's P x Cout block is already in the stacked layout. Smaller images stack samples up to
// about `target_rows` rows (a per-sample GEMM of a late ResNet layer has 16 rows and repacks all
// of W for each), within `chunk_bytes`, so that what im2row writes is still in cache when the
// GEMM packs it. The workspace is one chunk, whatever the batch: sized from the type alone.
#pragma once

#include <algorithm>
#include <cstddef>

#include <Eigen/Core>

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/im2row.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/conv2d.hpp"

namespace agd::eigen {

/// Conv2d as im2row and Eigen GEMMs, on CHW columns.
template <BoundConv2d L>
struct im2row_convolution {
  static constexpr conv_geometry geometry = L::geometry;
  static constexpr std::size_t P = geometry.positions();
  static constexpr std::size_t Q = geometry.patch();
  static constexpr std::size_t out_channels = L::output_channels;

  /// Whether the network multiplies in bf16 (network/precision.hpp): its GEMMs then go through
  /// the backend's GEMM, which rounds their inputs (fp32 keeps Eigen's products, as always).
  static bool in_bf16(const cpu::context& ctx) { return ctx.precision == compute_precision::bf16; }

  /// A layer with at least `direct_rows` positions runs one sample per GEMM: the GEMM then
  /// reads and writes the network's CHW buffers in place (a sample's P x Cout output block is
  /// already the stacked layout), with no copy in or out. Smaller images stack samples up to
  /// about `target_rows` rows, within `chunk_bytes` for a chunk's two matrices.
  static constexpr std::size_t direct_rows = 128;
  static constexpr std::size_t target_rows = 1024;
  static constexpr std::size_t chunk_bytes = std::size_t(8) << 20;

  /// Samples per chunk (at least one).
  template <class S>
  static constexpr std::size_t chunk_samples() {
    if (P >= direct_rows) return 1;
    const std::size_t for_rows = (target_rows + P - 1) / P;
    const std::size_t fitting = chunk_bytes / (P * (Q + out_channels) * sizeof(S));
    return std::max<std::size_t>(1, std::min(for_rows, fitting));
  }

  /// One chunk: Rs (or dRs), c*P x Q, and for c > 1 one stacked c*P x Cout matrix (Ts, or dY
  /// stacked).
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t samples) {
    const std::size_t c = std::min(chunk_samples<S>(), std::max<std::size_t>(samples, 1));
    return c * P * (Q + (c > 1 ? out_channels : 0)) * sizeof(S);
  }

  template <class S>
  static void forward(cpu::context& ctx, matrix_view<const S> w, matrix_view<const S> x,
                      matrix_view<S> y, std::byte* workspace) {
    const auto weights = as_eigen(w);
    for_each_chunk<S>(x.cols, [&](std::size_t first, std::size_t count) {
      const std::size_t rows = count * P;
      S* patches = reinterpret_cast<S*>(workspace);
      S* stacked = patches + rows * Q;
      for (std::size_t j = 0; j < count; ++j)
        im2row(geometry, x.column(first + j), patches + j * P, rows);
      // One sample's P x Cout output is its CHW column: written there directly.
      S* out = count == 1 ? y.column(first) : stacked;
      if (in_bf16(ctx))
        cpu::gemm<S>(ctx, false, true, rows, out_channels, Q, S(1), patches, rows, w.data, w.stride,
                     S(0), out, rows);
      else
        Eigen::Map<matrix<S>>(out, index(rows), index(out_channels)).noalias() =
            Eigen::Map<const matrix<S>>(patches, index(rows), index(Q)) * weights.transpose();
      // Sample j's output channel o is the plane of P values at o*P of its column.
      if (count > 1)
        for (std::size_t j = 0; j < count; ++j)
          for (std::size_t o = 0; o < out_channels; ++o)
            std::copy_n(stacked + o * rows + j * P, P, y.column(first + j) + o * P);
    });
  }

  /// dW = sum over samples of dY^T R, for the block of output channels whose rows of dY are
  /// given (dy has rows_of_block * P rows; dw has rows_of_block rows).
  template <class S>
  static void backward_weights(cpu::context& ctx, matrix_view<const S> x, matrix_view<const S> dy,
                               matrix_view<S> dw, std::byte* workspace) {
    auto gradient = as_eigen(dw);
    const std::size_t channels = dw.rows;
    bool first_chunk = true;
    for_each_chunk<S>(x.cols, [&](std::size_t first, std::size_t count) {
      const std::size_t rows = count * P;
      S* patches = reinterpret_cast<S*>(workspace);
      S* stacked = patches + rows * Q;
      for (std::size_t j = 0; j < count; ++j) {
        im2row(geometry, x.column(first + j), patches + j * P, rows);
        if (count > 1)
          for (std::size_t o = 0; o < channels; ++o)
            std::copy_n(dy.column(first + j) + o * P, P, stacked + o * rows + j * P);
      }
      const Eigen::Map<const matrix<S>> patch_matrix(patches, index(rows), index(Q));
      const Eigen::Map<const matrix<S>> gradients(count == 1 ? dy.column(first) : stacked,
                                                  index(rows), index(channels));
      if (in_bf16(ctx))
        cpu::gemm<S>(ctx, true, false, channels, Q, rows, S(1), gradients.data(), rows, patches,
                     rows, first_chunk ? S(0) : S(1), dw.data, dw.stride);
      else if (first_chunk)
        gradient.noalias() = gradients.transpose() * patch_matrix;
      else
        gradient.noalias() += gradients.transpose() * patch_matrix;
      first_chunk = false;
    });
    if (first_chunk) gradient.setZero();
  }

  template <class S>
  static void backward_inputs(cpu::context& ctx, matrix_view<const S> w, matrix_view<const S> dy,
                              matrix_view<S> dx, std::byte* workspace) {
    const auto weights = as_eigen(w);
    for_each_chunk<S>(dy.cols, [&](std::size_t first, std::size_t count) {
      const std::size_t rows = count * P;
      S* patch_gradients = reinterpret_cast<S*>(workspace);
      S* stacked = patch_gradients + rows * Q;
      if (count > 1)
        for (std::size_t j = 0; j < count; ++j)
          for (std::size_t o = 0; o < out_channels; ++o)
            std::copy_n(dy.column(first + j) + o * P, P, stacked + o * rows + j * P);
      const S* gradients = count == 1 ? dy.column(first) : stacked;
      if (in_bf16(ctx))
        cpu::gemm<S>(ctx, false, false, rows, Q, out_channels, S(1), gradients, rows, w.data,
                     w.stride, S(0), patch_gradients, rows);
      else
        Eigen::Map<matrix<S>>(patch_gradients, index(rows), index(Q)).noalias() =
            Eigen::Map<const matrix<S>>(gradients, index(rows), index(out_channels)) * weights;
      for (std::size_t j = 0; j < count; ++j) {
        S* image = dx.column(first + j);
        std::fill(image, image + dx.rows, S(0));
        row2im_add(geometry, patch_gradients + j * P, rows, image);
      }
    });
  }

 private:
  static Eigen::Index index(std::size_t v) { return Eigen::Index(v); }

  /// f(first, count) over the samples [0, samples) in chunks of at most chunk_samples().
  template <class S, class F>
  static void for_each_chunk(std::size_t samples, const F& f) {
    constexpr std::size_t c = chunk_samples<S>();
    for (std::size_t first = 0; first < samples; first += c) f(first, std::min(c, samples - first));
  }
};

}  // namespace agd::eigen
