// Conv2d<Cin, Cout, K, Stride, Pad>: a K x K convolution without bias (AGD handles no biases,
// Section 3.3), stored as the Cout x (K*K*Cin) matrix W whose (ky, kx) slice is the contiguous
// Cout x Cin block of columns (ky*K + kx)*Cin .. +Cin (backend/eigen/im2row.hpp). Appendix B
// treats the kernel as K*K matrices of shape Cout x Cin: each slice is initialised
// semi-orthogonal, the AGD scale is sqrt(Cout/Cin)/sqrt(K*K) (the official code's
// `singular_value`), and G and the update use each slice's own Frobenius norm. `weight_slices`
// tells init/orthogonal.hpp and optim/agd.hpp so.
//
// The layer's height and width come from the layer before it: agd::Sequential binds the layer
// to its input shape (`bind<Shape>`), which fixes every size at compile time.
#pragma once

#include <cstddef>
#include <string>

#include <Eigen/Core>

#include "agd/backend/eigen/im2row.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/math.hpp"
#include "agd/core/shape.hpp"
#include "agd/network/shape_check.hpp"

namespace agd {

namespace detail {

/// A convolution bound to its input shape: a weighted layer of the uniform interface whose
/// forward and backward run one GEMM per sample on a per-thread im2row workspace.
template <class Unbound, std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride,
          std::size_t Pad, tensor_shape In>
struct conv2d_bound {
  static_assert(shape_error::in<Unbound>::template expects_channels<Cin>::template but_the_input_is<
                In.channels, In.height, In.width>::value);
  static_assert(In.height + 2 * Pad >= K && In.width + 2 * Pad >= K,
                "agd::Conv2d: the kernel is larger than the padded input");

  static constexpr cpu::conv_geometry geometry{Cin,
                                               In.height,
                                               In.width,
                                               K,
                                               Stride,
                                               Pad,
                                               (In.height + 2 * Pad - K) / Stride + 1,
                                               (In.width + 2 * Pad - K) / Stride + 1};
  static constexpr tensor_shape out_shape{Cout, geometry.out_height, geometry.out_width};

  static constexpr std::size_t input_size = In.size();
  static constexpr std::size_t output_size(std::size_t) { return out_shape.size(); }
  static constexpr tensor_shape output_shape(tensor_shape) { return out_shape; }
  static constexpr bool has_weights = true;
  static constexpr std::size_t weight_rows = Cout;
  static constexpr std::size_t weight_cols = K * K * Cin;
  /// The K*K slices of Appendix B, each a contiguous Cout x Cin block of W.
  static constexpr std::size_t weight_slices = K * K;
  /// sqrt(Cout/Cin) / sqrt(K*K): Appendix B's `singular_value` of a conv kernel.
  static constexpr double agd_scale = agd_scale_for(Cout, Cin) / double(K);
  /// Scalars of scratch one thread needs: one im2row matrix.
  static constexpr std::size_t workspace_size = geometry.positions() * geometry.patch();
  /// Output channel o (row o of W) owns the rows o*Ho*Wo .. +Ho*Wo of the output column, so a
  /// block of rows of dW needs only the matching block of rows of dY.
  static constexpr std::size_t output_rows_per_weight_row = geometry.positions();

  static std::string name() { return Unbound::name(); }

  template <class S>
  using plane_map = Eigen::Map<const matrix<S>>;

  template <class S>
  static void forward(const_matrix_ref<S> w, const_matrix_ref<S> x, matrix_ref<S> y, S* workspace) {
    const auto positions = Eigen::Index(geometry.positions());
    Eigen::Map<matrix<S>> rows(workspace, positions, Eigen::Index(geometry.patch()));
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      cpu::im2row(geometry, x.col(j).data(), workspace);
      Eigen::Map<matrix<S>>(y.col(j).data(), positions, Eigen::Index(Cout)).noalias() =
          rows * w.transpose();
    }
  }
  /// dW = sum over samples of dY^T R, for the block of output channels whose rows of dY are
  /// given (dy has rows_of_block * Ho*Wo rows; dw has rows_of_block rows).
  template <class S>
  static void backward_weights(const_matrix_ref<S> x, const_matrix_ref<S> dy, matrix_ref<S> dw,
                               S* workspace) {
    const auto positions = Eigen::Index(geometry.positions());
    Eigen::Map<matrix<S>> rows(workspace, positions, Eigen::Index(geometry.patch()));
    dw.setZero();
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      cpu::im2row(geometry, x.col(j).data(), workspace);
      dw.noalias() += plane_map<S>(dy.col(j).data(), positions, dw.rows()).transpose() * rows;
    }
  }
  template <class S>
  static void backward_inputs(const_matrix_ref<S> w, const_matrix_ref<S> dy, matrix_ref<S> dx,
                              S* workspace) {
    const auto positions = Eigen::Index(geometry.positions());
    Eigen::Map<matrix<S>> rows(workspace, positions, Eigen::Index(geometry.patch()));
    for (Eigen::Index j = 0; j < dy.cols(); ++j) {
      rows.noalias() = plane_map<S>(dy.col(j).data(), positions, Eigen::Index(Cout)) * w;
      dx.col(j).setZero();
      cpu::row2im_add(geometry, workspace, dx.col(j).data());
    }
  }
};

}  // namespace detail

/// A K x K convolution from Cin to Cout channels with the given stride and zero padding (by
/// default K/2, which keeps the size at stride 1 for odd K). No bias.
template <std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t Stride = 1,
          std::size_t Pad = K / 2>
struct Conv2d {
  static_assert(Cin > 0 && Cout > 0 && K > 0 && Stride > 0,
                "agd::Conv2d<Cin, Cout, K, Stride, Pad>: channels, kernel and stride must be "
                "positive");

  /// Marks a layer whose sizes depend on its input's height and width.
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  using bind = detail::conv2d_bound<Conv2d, Cin, Cout, K, Stride, Pad, In>;

  static std::string name() {
    std::string text =
        "Conv2d<" + std::to_string(Cin) + "," + std::to_string(Cout) + "," + std::to_string(K);
    if (Stride != 1 || Pad != K / 2)
      text += "," + std::to_string(Stride) + "," + std::to_string(Pad);
    return text + ">";
  }
};

}  // namespace agd
