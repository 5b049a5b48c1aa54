// Dense<In, Out>: y = W x with W of shape Out x In and no bias, as in the paper's networks
// (Definition 10; AGD does not handle biases, Section 3.3).
#pragma once

#include <cstddef>
#include <string>

#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/math.hpp"
#include "agd/core/view.hpp"

namespace agd {

template <std::size_t In, std::size_t Out>
struct Dense {
  static_assert(In > 0 && Out > 0, "agd::Dense<In, Out>: both sizes must be positive");

  static constexpr std::size_t input_size = In;
  static constexpr std::size_t output_size(std::size_t) { return Out; }
  static constexpr bool has_weights = true;
  static constexpr std::size_t weight_rows = Out;  // d_k
  static constexpr std::size_t weight_cols = In;   // d_{k-1}
  /// sqrt(d_k / d_{k-1}): the target singular value of W (Prescription 1, Algorithm 1).
  static constexpr double agd_scale = agd_scale_for(Out, In);

  static std::string name() {
    return "Dense<" + std::to_string(In) + "," + std::to_string(Out) + ">";
  }
};

/// Dense on every backend: three GEMMs, which is all a backend has to supply.
template <std::size_t In, std::size_t Out, class Backend>
struct layer_kernel<Dense<In, Out>, Backend> : kernel_defaults {
  /// Threads take blocks of columns of dW (contiguous in the column-major layout), each with
  /// the matching rows of X.
  static constexpr bool weight_gradient_by_columns = true;

  /// Y = W X.
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> w,
                      matrix_view<const S> x, matrix_view<S> y, std::byte*) {
    Backend::gemm(context, false, false, Out, x.cols, In, S(1), w.data, w.stride, x.data, x.stride,
                  S(0), y.data, y.stride);
  }
  /// dW = dY X^T: the sum over the batch of outer products (the 1/n is already in dY). `dw`
  /// may be a block of the columns of dW, with `x` the matching block of rows of X.
  template <class S>
  static void backward_weights(typename Backend::context& context, matrix_view<const S> x,
                               matrix_view<const S> dy, matrix_view<S> dw, std::byte*) {
    Backend::gemm(context, false, true, Out, dw.cols, x.cols, S(1), dy.data, dy.stride, x.data,
                  x.stride, S(0), dw.data, dw.stride);
  }
  /// dX = W^T dY.
  template <class S>
  static void backward_inputs(typename Backend::context& context, matrix_view<const S> w,
                              matrix_view<const S> dy, matrix_view<S> dx, std::byte*) {
    Backend::gemm(context, true, false, In, dy.cols, Out, S(1), w.data, w.stride, dy.data,
                  dy.stride, S(0), dx.data, dx.stride);
  }
};

}  // namespace agd
