// Dense<In, Out>: y = W x with W of shape Out x In and no bias, as in the paper's networks
// (Definition 10; AGD does not handle biases, Section 3.3).
#pragma once

#include <cstddef>
#include <string>

#include "agd/core/layer.hpp"
#include "agd/core/math.hpp"

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

  template <class S>
  static void forward(const_matrix_ref<S> w, const_matrix_ref<S> x, matrix_ref<S> y) {
    y.noalias() = w * x;
  }
  /// dL/dW = dy x^T: the sum over the batch of outer products (the 1/n is already in dy).
  template <class S>
  static void backward_weights(const_matrix_ref<S> x, const_matrix_ref<S> dy, matrix_ref<S> dw) {
    dw.noalias() = dy * x.transpose();
  }
  template <class S>
  static void backward_inputs(const_matrix_ref<S> w, const_matrix_ref<S> dy, matrix_ref<S> dx) {
    dx.noalias() = w.transpose() * dy;
  }
};

}  // namespace agd
