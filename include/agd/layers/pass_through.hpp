// The forward and backward pass of a layer that only relabels the shape of its input (Input,
// Flatten): columns are stored in CHW order whatever the shape, so values pass through as they
// are, and so do gradients.
#pragma once

#include "agd/core/matrix.hpp"

namespace agd::detail {

struct pass_through {
  template <class S>
  static void forward(const_matrix_ref<S> x, matrix_ref<S> y) {
    y = x;
  }
  template <class S>
  static void backward(const_matrix_ref<S>, const_matrix_ref<S>, const_matrix_ref<S> dy,
                       matrix_ref<S> dx) {
    dx = dy;
  }
};

}  // namespace agd::detail
