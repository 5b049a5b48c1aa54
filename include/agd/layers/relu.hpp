// The two ReLUs. agd::Relu is the textbook max(0, z) of the paper's Definition 10.
// agd::Sqrt2Relu is sqrt(2) * max(0, z), what the paper's official experiments code uses in its
// fully-connected networks (`F.relu(x) * math.sqrt(2)`): halving the active units halves the
// squared norm of the signal, and the sqrt(2) gain restores it, so an orthogonally initialised
// network keeps ||h_k|| ~ ||x|| through depth. Without it a 32-layer network's output and
// gradients shrink like 2^{-16} and AGD's eta stays at ~0. The examples use Sqrt2Relu.
//
// Both are element-wise activations (layers/activation.hpp): written once as expressions, they
// run on every backend.
#pragma once

#include <string>

#include "agd/layers/activation.hpp"

namespace agd {

namespace detail {
template <double Gain>
struct gained_relu : elementwise_activation {
  /// gain * max(x, 0).
  static constexpr auto function = expr::max(expr::x, 0.0) * Gain;
  /// gain * [x > 0]: the subgradient at 0 is taken as 0, as PyTorch does.
  static constexpr auto derivative = expr::where(expr::x > 0.0, Gain, 0.0);
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
