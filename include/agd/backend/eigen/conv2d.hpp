// Conv2d's kernel on the CPU backend: oneDNN's convolutions for float where agd is built on
// oneDNN and the network keeps one side of the layer in a blocked layout (conv2d_onednn.hpp),
// im2row and Eigen GEMMs otherwise (conv2d_im2row.hpp: double precision, builds without
// oneDNN, layers between two CHW images, blocks of samples that are not whole columns).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/conv2d_im2row.hpp"
#include "agd/backend/eigen/conv2d_onednn.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/conv2d.hpp"
#include "agd/layers/pass_through.hpp"

namespace agd {

template <BoundConv2d L>
struct layer_kernel<L, eigen::cpu> : kernel_defaults {
  using im2row = eigen::im2row_convolution<L>;

  /// How the threads share the weight gradient. oneDNN: each a block of output channels (rows
  /// of dW) over the whole batch (conv2d_onednn.hpp says why). Eigen: each sums all of dW over
  /// its own samples (one GEMM over all Cout rows per chunk of samples) and the network adds
  /// the threads' sums up, as a block of rows would have every thread build every sample's
  /// patch matrices.
#ifdef AGD_WITH_ONEDNN
  static constexpr bool weight_gradient_by_samples = false;
#else
  static constexpr bool weight_gradient_by_samples = true;
#endif
  /// oneDNN's kernels read and write CHW or its blocked layouts, as the views say; where the
  /// network runs im2row (double, or no oneDNN) the backend's channel block is 1, so every view
  /// is CHW.
  static constexpr layout_support layouts = layout_support::any;

  template <class S>
  static constexpr bool on_onednn() {
#ifdef AGD_WITH_ONEDNN
    return std::is_same_v<S, float>;
#else
    return false;
#endif
  }

  /// im2row's scratch, which runs where both sides are CHW (oneDNN's scratchpads are the
  /// backend's, per thread).
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t samples) {
    return im2row::template workspace_bytes<S>(samples);
  }

  template <class S>
  static void forward(eigen::cpu::context& ctx, matrix_view<const S> w, matrix_view<const S> x,
                      matrix_view<S> y, std::byte* workspace) {
#ifdef AGD_WITH_ONEDNN
    if constexpr (on_onednn<S>()) {
      if (onednn::runs_on(x, y)) {
        if (onednn::forward(ctx, w, x, y)) return;
        return on_chw_copies(ctx, x, y, [&](auto x_chw, auto y_chw) {
          im2row::template forward<S>(ctx, w, x_chw, y_chw, workspace);
        });
      }
      check_chw(x, y, "forward");
    }
#endif
    im2row::template forward<S>(ctx, w, x, y, workspace);
  }

  template <class S>
  static void backward_weights(eigen::cpu::context& ctx, matrix_view<const S> x,
                               matrix_view<const S> dy, matrix_view<S> dw, std::byte* workspace) {
#ifdef AGD_WITH_ONEDNN
    if constexpr (on_onednn<S>()) {
      if (onednn::runs_weight_gradient_on(x, dy)) {
        if (onednn::backward_weights(ctx, x, dy, dw)) return;
        // This block of output channels' dW, from CHW copies of x and of dy's block.
        return on_chw_copies(ctx, x, dy, [&](auto x_chw, auto dy_chw) {
          im2row::template backward_weights<S>(ctx, x_chw, dy_chw, dw, workspace);
        });
      }
      check_chw(x, dy, "backward_weights");
    }
#endif
    im2row::template backward_weights<S>(ctx, x, dy, dw, workspace);
  }

  template <class S>
  static void backward_inputs(eigen::cpu::context& ctx, matrix_view<const S> w,
                              matrix_view<const S> dy, matrix_view<S> dx, std::byte* workspace) {
#ifdef AGD_WITH_ONEDNN
    if constexpr (on_onednn<S>()) {
      if (onednn::runs_on(dy, dx)) {
        if (onednn::backward_inputs(ctx, w, dy, dx)) return;
        return on_chw_copies(ctx, dy, dx, [&](auto dy_chw, auto dx_chw) {
          im2row::template backward_inputs<S>(ctx, w, dy_chw, dx_chw, workspace);
        });
      }
      check_chw(dy, dx, "backward_inputs");
    }
#endif
    im2row::template backward_inputs<S>(ctx, w, dy, dx, workspace);
  }

 private:
#ifdef AGD_WITH_ONEDNN
  using onednn = eigen::onednn_convolution<L>;

  /// Runs `pass(a_chw, b_chw)`, an im2row pass, where oneDNN has only its reference kernel
  /// (e.g. the weight gradient of a first convolution with AVX2): `a` is an input, `b` another
  /// input or the output; each is given as is if CHW, else as a CHW copy in the engine's
  /// per-thread staging (grown once), an output copied back into its layout afterwards.
  template <class S, class B, class Pass>
  static void on_chw_copies(eigen::cpu::context& ctx, matrix_view<const S> a, matrix_view<B> b,
                            const Pass& pass) {
    const std::size_t a_floats = a.layout.blocked() ? a.rows * a.cols : 0;
    const std::size_t b_floats = b.layout.blocked() ? b.rows * b.cols : 0;
    S* staging = ctx.onednn.operand_staging(a_floats + b_floats);
    const auto chw = [](S* data, const auto& v) {
      return matrix_view<S>{data, v.rows, v.cols, v.rows, { 1, v.layout.channels }};
    };
    matrix_view<const S> a_chw = a;
    if (a_floats) {
      copy_between_layouts(a, chw(staging, a));
      a_chw = chw(staging, a);
    }
    matrix_view<B> b_chw = b;
    if (b_floats) {
      if constexpr (std::is_const_v<B>) copy_between_layouts(b, chw(staging + a_floats, b));
      b_chw = chw(staging + a_floats, b);
    }
    pass(a_chw, b_chw);
    if constexpr (!std::is_const_v<B>)
      if (b_floats) copy_between_layouts(matrix_view<const S>(b_chw), b);
  }
#endif
  /// im2row reads CHW columns only.
  template <class A, class B>
  static void check_chw(matrix_view<A> a, matrix_view<B> b, const char* what) {
    if (a.layout.blocked() || b.layout.blocked())
      throw std::logic_error(std::string("agd::Conv2d::") + what +
                             ": blocked channel layouts need whole columns (a block of samples "
                             "whose columns follow each other)");
  }
};

}  // namespace agd
