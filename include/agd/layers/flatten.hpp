// Flatten: C x H x W -> C*H*W features, in CHW order (as torch.flatten on NCHW), so the Dense
// layer after it sees the same vector a PyTorch model would.
#pragma once

#include <string>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"

namespace agd {

struct Flatten {
  static constexpr std::size_t input_size = any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr tensor_shape output_shape(tensor_shape in) { return flat_shape(in.size()); }
  static constexpr bool has_weights = false;
  static std::string name() { return "Flatten"; }

  // Columns are already stored in CHW order, so flattening only relabels the shape.
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

}  // namespace agd
