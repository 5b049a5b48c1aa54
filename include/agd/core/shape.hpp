// The shape of one sample as it flows through a network: channels x height x width. A flat
// vector of d features is {d, 1, 1}. Shapes are structural types, so a layer bound to an input
// shape carries it as a template argument and every size below is a compile-time constant.
//
// Samples are stored as columns (core/matrix.hpp); an image's column holds its values in
// channel-major order (CHW, as PyTorch's NCHW and the CIFAR and IDX files store them): the
// value at channel c, row y, column x is element (c * height + y) * width + x.
#pragma once

#include <cstddef>
#include <string>

namespace agd {

struct tensor_shape {
  std::size_t channels = 0;
  std::size_t height = 1;
  std::size_t width = 1;

  constexpr std::size_t size() const { return channels * height * width; }
  constexpr std::size_t plane() const { return height * width; }
  constexpr bool flat() const { return height == 1 && width == 1; }
  constexpr bool operator==(const tensor_shape&) const = default;
};

/// {d, 1, 1}: a flat vector of d features.
constexpr tensor_shape flat_shape(std::size_t d) {
  return {d, 1, 1};
}

/// "64x16x16", or "512" for a flat vector.
inline std::string to_string(const tensor_shape& shape) {
  if (shape.flat()) return std::to_string(shape.channels);
  return std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
         std::to_string(shape.width);
}

}  // namespace agd
