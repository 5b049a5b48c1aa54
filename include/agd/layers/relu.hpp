// The two ReLUs. agd::Relu is the textbook max(0, z) of the paper's Definition 10.
// agd::Sqrt2Relu is sqrt(2) * max(0, z), what the paper's official experiments code uses in its
// fully-connected networks (`F.relu(x) * math.sqrt(2)`): halving the active units halves the
// squared norm of the signal, and the sqrt(2) gain restores it, so an orthogonally initialised
// network keeps ||h_k|| ~ ||x|| through depth. Without it a 32-layer network's output and
// gradients shrink like 2^{-16} and AGD's eta stays at ~0. The examples use Sqrt2Relu.
#pragma once

#include <string>

#include "agd/core/layer.hpp"

namespace agd {

namespace detail {
template <double Gain>
struct gained_relu {
  static constexpr std::size_t input_size = any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr bool has_weights = false;
  static constexpr double gain = Gain;

  template <class S>
  static void forward(const_matrix_ref<S> x, matrix_ref<S> y) {
    if constexpr (Gain == 1.0) {
      y = x.cwiseMax(S(0));
    } else {
      y = x.cwiseMax(S(0)) * S(Gain);
    }
  }
  /// dz = dy * gain * [z > 0] (the subgradient at 0 is taken as 0, as PyTorch does).
  template <class S>
  static void backward(const_matrix_ref<S> x, const_matrix_ref<S>, const_matrix_ref<S> dy,
                       matrix_ref<S> dx) {
    dx = (x.array() > S(0)).select(dy * S(Gain), S(0));
  }
};
}  // namespace detail

/// relu(z) = max(0, z), the paper's Definition 10.
struct Relu : detail::gained_relu<1.0> {
  static std::string name() { return "Relu"; }
};

/// sqrt(2) * max(0, z), the official AGD code's ReLU; see the comment at the top of this file.
struct Sqrt2Relu : detail::gained_relu<1.4142135623730951> {
  static std::string name() { return "Sqrt2Relu"; }
};

}  // namespace agd
