// Conv2d's kernel on the CUDA backend: the whole batch as one GEMM. The patch matrices of all n
// samples are stacked into one (n*P) x Q matrix Rs (P output positions, Q = K*K*Cin patch
// entries; layers/conv_geometry.hpp), written by one element-wise pass, so that
//   forward           Ts = Rs W^T          (n*P x Cout), then Ts unstacked into the CHW outputs;
//   input gradient    dRs = stack(dY) W,   then each input pixel gathers its uses from dRs;
//   weight gradient   dW = stack(dY)^T Rs  (one GEMM with K = n*P).
// Every index map is computed element by element (no atomics: the adjoint of im2col gathers),
// and the GEMMs are cuBLAS's; on Thrust's host system the same code runs on the CPU.
#pragma once

#include <cstddef>

#include "agd/backend/cuda/backend.hpp"
#include "agd/core/host_device.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/conv2d.hpp"

namespace agd {

namespace cuda::detail {

/// Rs[q * nP + j * P + p] = image j at the pixel entry (p, q) copies (0 in the padding).
template <class S>
struct stack_patches {
  conv_geometry g;
  const S* x;
  std::size_t x_stride, rows;  // rows = n * P
  S* patches;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t q = e / rows, r = e % rows;
    const std::size_t j = r / g.positions(), p = r % g.positions();
    const std::size_t pixel = g.pixel_of(p, q);
    patches[e] = pixel < g.image_size() ? x[j * x_stride + pixel] : S(0);
  }
};

/// Between the network's layout (sample j's column holds channel o's plane of P values at
/// o * P) and the stacked one (column o of an n*P x C matrix holds every sample's plane).
template <class S>
struct stacked_planes {
  std::size_t planes, positions, samples;  // C, P, n
  S* stacked;
  S* column_major;
  std::size_t stride;  // of the network's buffer
  bool to_stacked;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / (planes * positions), rest = e % (planes * positions);
    const std::size_t o = rest / positions, p = rest % positions;
    S& stacked_value = stacked[o * samples * positions + j * positions + p];
    S& network_value = column_major[j * stride + rest];
    if (to_stacked)
      stacked_value = network_value;
    else
      network_value = stacked_value;
  }
};

/// The adjoint of stack_patches: dx at a pixel of sample j is the sum of dRs over the entries
/// that copied it.
template <class S>
struct gather_patch_gradients {
  conv_geometry g;
  const S* patch_gradients;
  std::size_t rows;  // n * P
  S* dx;
  std::size_t dx_stride;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / g.image_size(), pixel = e % g.image_size();
    S sum = S(0);
    g.for_each_use(pixel, [&](std::size_t p, std::size_t q) {
      sum += patch_gradients[q * rows + j * g.positions() + p];
    });
    dx[j * dx_stride + pixel] = sum;
  }
};

}  // namespace cuda::detail

template <BoundConv2d L>
struct layer_kernel<L, cuda::device> : kernel_defaults {
  static constexpr conv_geometry geometry = L::geometry;
  static constexpr std::size_t P = geometry.positions();
  static constexpr std::size_t Q = geometry.patch();
  static constexpr std::size_t out_channels = L::output_channels;
  using context = cuda::device::context;

  /// Rs (n*P x Q) and one stacked n*P x Cout matrix.
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t samples) {
    return samples * P * (Q + out_channels) * sizeof(S) + 256;
  }

  template <class S>
  static void forward(context& ctx, matrix_view<const S> w, matrix_view<const S> x,
                      matrix_view<S> y, std::byte* workspace) {
    const std::size_t n = x.cols, rows = n * P;
    S* patches = reinterpret_cast<S*>(workspace);
    S* stacked = patches + rows * Q;
    stack(ctx, x, patches);
    // Ts (nP x Cout) = Rs (nP x Q) W^T (Q x Cout).
    cuda::device::gemm(ctx, false, true, rows, out_channels, Q, S(1), patches, rows, w.data,
                       w.stride, S(0), stacked, rows);
    cuda::device::local_for_each(
        ctx, n * out_channels * P,
        cuda::detail::stacked_planes<S>{out_channels, P, n, stacked, y.data, y.stride, false});
  }

  template <class S>
  static void backward_inputs(context& ctx, matrix_view<const S> w, matrix_view<const S> dy,
                              matrix_view<S> dx, std::byte* workspace) {
    const std::size_t n = dy.cols, rows = n * P;
    S* patch_gradients = reinterpret_cast<S*>(workspace);
    S* stacked = patch_gradients + rows * Q;
    stack_output_gradient(ctx, dy, stacked);
    // dRs (nP x Q) = stack(dY) (nP x Cout) W (Cout x Q).
    cuda::device::gemm(ctx, false, false, rows, Q, out_channels, S(1), stacked, rows, w.data,
                       w.stride, S(0), patch_gradients, rows);
    cuda::device::local_for_each(ctx, n * geometry.image_size(),
                                 cuda::detail::gather_patch_gradients<S>{geometry, patch_gradients,
                                                                         rows, dx.data, dx.stride});
  }

  /// dW = stack(dY)^T Rs; the network passes every row at once on this backend.
  template <class S>
  static void backward_weights(context& ctx, matrix_view<const S> x, matrix_view<const S> dy,
                               matrix_view<S> dw, std::byte* workspace) {
    if (dw.rows != out_channels)
      throw std::logic_error("agd::cuda: a convolution's weight gradient is computed whole");
    const std::size_t n = x.cols, rows = n * P;
    S* patches = reinterpret_cast<S*>(workspace);
    S* stacked = patches + rows * Q;
    stack(ctx, x, patches);
    stack_output_gradient(ctx, dy, stacked);
    cuda::device::gemm(ctx, true, false, out_channels, Q, rows, S(1), stacked, rows, patches, rows,
                       S(0), dw.data, dw.stride);
  }

 private:
  template <class S>
  static void stack(context& ctx, matrix_view<const S> x, S* patches) {
    const std::size_t rows = x.cols * P;
    cuda::device::local_for_each(
        ctx, rows * Q, cuda::detail::stack_patches<S>{geometry, x.data, x.stride, rows, patches});
  }
  template <class S>
  static void stack_output_gradient(context& ctx, matrix_view<const S> dy, S* stacked) {
    cuda::device::local_for_each(
        ctx, dy.cols * out_channels * P,
        cuda::detail::stacked_planes<S>{out_channels, P, dy.cols, stacked, const_cast<S*>(dy.data),
                                        dy.stride, true});
  }
};

}  // namespace agd
