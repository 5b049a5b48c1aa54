// Input<C, H, W>: declares the shape of one sample at the head of a layer list, so the layers
// after it (convolutions, pooling) know their height and width at compile time:
//   agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 32, 3>, agd::Sqrt2Relu, ...>
// The network's input is then a (C*H*W) x n batch, each column one image in CHW order.
#pragma once

#include <cstddef>
#include <string>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/layers/pass_through.hpp"

namespace agd {

template <std::size_t C, std::size_t H = 1, std::size_t W = 1>
struct Input : detail::pass_through {
  static_assert(C > 0 && H > 0 && W > 0, "agd::Input<C, H, W>: every size must be positive");
  static constexpr tensor_shape shape{C, H, W};
  static constexpr bool declares_input = true;

  static constexpr std::size_t input_size = C * H * W;
  static constexpr std::size_t output_size(std::size_t) { return C * H * W; }
  static constexpr bool shapes_output = true;
  static constexpr tensor_shape output_shape(tensor_shape) { return shape; }
  static constexpr bool has_weights = false;
  static std::string name() {
    return "Input<" + std::to_string(C) + "," + std::to_string(H) + "," + std::to_string(W) + ">";
  }
};

}  // namespace agd
