// Flatten: C x H x W -> C*H*W features, in CHW order (as torch.flatten on NCHW), so the Dense
// layer after it sees the same vector a PyTorch model would.
#pragma once

#include <string>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/layers/pass_through.hpp"

namespace agd {

struct Flatten : detail::pass_through {
  static constexpr std::size_t input_size = any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr bool shapes_output = true;
  static constexpr tensor_shape output_shape(tensor_shape in) { return flat_shape(in.size()); }
  static constexpr bool has_weights = false;
  static std::string name() { return "Flatten"; }
};

}  // namespace agd
