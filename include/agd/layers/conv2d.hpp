// Conv2d<Cin, Cout, K, Stride, Pad>: a K x K convolution without bias (AGD handles no biases,
// Section 3.3), stored as the Cout x (K*K*Cin) matrix W whose (ky, kx) slice is the contiguous
// Cout x Cin block of columns (ky*K + kx)*Cin .. +Cin (layers/conv_geometry.hpp). Appendix B
// treats the kernel as K*K matrices of shape Cout x Cin: each slice is initialised
// semi-orthogonal, the AGD scale is sqrt(Cout/Cin)/sqrt(K*K) (the official code's
// `singular_value`), and G and the update use each slice's own Frobenius norm. `weight_slices`
// tells the initialisation and the optimiser so.
//
// The layer's height and width come from the layer before it: agd::Sequential binds the layer
// to its input shape (`bind<Shape>`), which fixes every size at compile time. Its kernels are a
// memory layout and GEMMs, so each backend has its own (backend/eigen/conv2d.hpp,
// backend/cuda/conv2d.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "agd/core/layer.hpp"
#include "agd/core/math.hpp"
#include "agd/core/shape.hpp"
#include "agd/core/shape_check.hpp"
#include "agd/layers/conv_geometry.hpp"

namespace agd {

namespace detail {

/// A convolution bound to its input shape.
template <class Unbound, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          std::size_t Pad, tensor_shape In>
struct conv2d_bound : layer_capabilities {
  static_assert(shape_error::in<Unbound>::template expects_channels<Cin>::template but_the_input_is<
                In.channels, In.height, In.width>::value);
  static_assert(In.height + 2 * Pad >= K && In.width + 2 * Pad >= K,
                "agd::Conv2d: the kernel is larger than the padded input");

  static constexpr conv_geometry geometry{Cin,
                                          In.height,
                                          In.width,
                                          K,
                                          Stride,
                                          Pad,
                                          (In.height + 2 * Pad - K) / Stride + 1,
                                          (In.width + 2 * Pad - K) / Stride + 1};
  static constexpr std::size_t output_channels = Cout;
  static constexpr tensor_shape out_shape{Cout, geometry.out_height, geometry.out_width};

  static constexpr std::size_t input_size = In.size();
  static constexpr std::size_t output_size(std::size_t) { return out_shape.size(); }
  static constexpr bool shapes_output = true;
  static constexpr tensor_shape output_shape(tensor_shape) { return out_shape; }
  static constexpr bool has_weights = true;
  static constexpr std::size_t weight_rows = Cout;
  static constexpr std::size_t weight_cols = K * K * Cin;
  /// The K*K slices of Appendix B, each a contiguous Cout x Cin block of W.
  static constexpr std::size_t weight_slices = K * K;
  /// sqrt(Cout/Cin) / sqrt(K*K): Appendix B's `singular_value` of a conv kernel.
  static constexpr double agd_scale = agd_scale_for(Cout, Cin) / double(K);
  /// Output channel o (row o of W) owns the rows o*Ho*Wo .. +Ho*Wo of the output column, so a
  /// block of rows of dW needs only the matching block of rows of dY.
  static constexpr std::size_t output_rows_per_weight_row = geometry.positions();

  static std::string name() { return Unbound::name(); }
};

template <class L>
struct is_conv2d : std::false_type {};
template <class U, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t S, std::size_t P,
          tensor_shape In>
struct is_conv2d<conv2d_bound<U, Cin, Cout, K, S, P, In>> : std::true_type {};

}  // namespace detail

/// A convolution bound to an input shape (what agd::Sequential runs for a Conv2d).
template <class L>
concept BoundConv2d = detail::is_conv2d<L>::value;

/// A K x K convolution from Cin to Cout channels with the given stride and zero padding (by
/// default K/2, which keeps the size at stride 1 for odd K). No bias.
template <std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride = 1,
          std::size_t Pad = K / 2>
struct Conv2d : layer_capabilities {
  static_assert(Cin > 0 && Cout > 0 && K > 0 && Stride > 0,
                "agd::Conv2d<Cin, Cout, K, Stride, Pad>: channels, kernel and stride must be "
                "positive");

  /// Marks a layer whose sizes depend on its input's height and width.
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  using bind = detail::conv2d_bound<Conv2d, Cin, Cout, K, Stride, Pad, In>;

  static std::string name() {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict, its bug 105651) about the
    // inlined copies of "literal" + std::string at -O3.
    std::string text = "Conv2d<";
    for (std::size_t value : {Cin, Cout, K}) text.append(std::to_string(value)).append(",");
    if (Stride != 1 || Pad != K / 2)
      text.append(std::to_string(Stride)).append(",").append(std::to_string(Pad)).append(",");
    text.back() = '>';
    return text;
  }
};

}  // namespace agd
