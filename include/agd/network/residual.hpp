// Residual<Block...>: a skip connection, y = x + block(x), as in He et al.'s ResNets. When the
// block changes the shape (more channels, a stride), the skip path is a 1x1 convolution with
// the matching stride and no bias (the "projection shortcut" of the pre-activation ResNet-18 of
// kuangliu/pytorch-cifar, which the paper trains); its weight is one more weight tensor, so
// AGD's depth L counts it, as the official code counts net.parameters().
//
// agd::Sequential flattens a Residual into its layer list between two markers,
//   residual_begin, Block..., residual_end
// and binds them to shapes like any other layer; the network routes the skip (see
// sequential.hpp). `Residual<Sequential<...>>` is accepted too and means the same.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "agd/core/elementwise.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/core/shape_check.hpp"
#include "agd/core/view.hpp"
#include "agd/layers/conv2d.hpp"

namespace agd {

template <class... Block>
struct Residual {
  static_assert(sizeof...(Block) > 0, "agd::Residual needs at least one layer in its block");
};

namespace detail {

/// Opens a residual block: passes its input on unchanged; the network keeps that input for the
/// skip and adds the skip's gradient to the block's in backward.
struct residual_begin : layer_capabilities {
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  struct bind : layer_capabilities {
    static constexpr bool opens_residual = true;
    static constexpr bool shapes_output = true;
    static constexpr std::size_t input_size = In.size();
    static constexpr std::size_t output_size(std::size_t) { return In.size(); }
    static constexpr tensor_shape output_shape(tensor_shape) { return In; }
    static constexpr bool has_weights = false;
    static std::string name() { return "Residual{"; }
  };
};

/// Closes a residual block: block output + skip, the skip projected by a 1x1 convolution when
/// the shapes differ.
struct residual_end {};

template <tensor_shape Skip, tensor_shape Out>
struct residual_end_bound : layer_capabilities {
  static constexpr bool closes_residual = true;
  static constexpr bool shapes_output = true;
  static constexpr bool projects = !(Skip == Out);
  static_assert(!projects ||
                shape_error::residual_input<Skip.channels, Skip.height, Skip.width>::
                    template cannot_be_projected_onto_the_block_output<Out.channels, Out.height,
                                                                       Out.width>::value);
  static constexpr std::size_t stride =
      projects ? std::max<std::size_t>(1, shape_error::projection_stride(Skip.height, Skip.width,
                                                                         Out.height, Out.width))
               : 1;
  using projection_layer = Conv2d<Skip.channels, Out.channels, 1, stride, 0>;
  using projection = typename projection_layer::template bind<Skip>;

  static constexpr std::size_t input_size = Out.size();
  static constexpr std::size_t output_size(std::size_t) { return Out.size(); }
  static constexpr tensor_shape output_shape(tensor_shape) { return Out; }
  static constexpr bool has_weights = projects;
  static constexpr std::size_t weight_rows = projection::weight_rows;
  static constexpr std::size_t weight_cols = projection::weight_cols;
  static constexpr std::size_t weight_slices = 1;
  static constexpr double agd_scale = projection::agd_scale;
  static constexpr std::size_t output_rows_per_weight_row = Out.plane();

  static std::string name() {
    return projects ? "}+" + projection_layer::name() : std::string("}+skip");
  }
};

}  // namespace detail

/// Closing a residual block on every backend: an element-wise sum, and the projection's
/// convolution kernel when the block changes the shape.
template <tensor_shape Skip, tensor_shape Out, class Backend>
struct layer_kernel<detail::residual_end_bound<Skip, Out>, Backend> : kernel_defaults {
  using end = detail::residual_end_bound<Skip, Out>;
  using projection = layer_kernel<typename end::projection, Backend>;

  /// The sum is element by element (the block's output and y share a layout; the network gives
  /// an identity skip that layout too), and the projection converts whatever the skip's is.
  static constexpr layout_support layouts =
      !end::projects || projection::layouts == layout_support::any ? layout_support::same_in_and_out
                                                                   : layout_support::plain_only;
  /// The projection's weight gradient is summed as its convolution's is.
  static constexpr bool weight_gradient_by_samples =
      end::projects && projection::weight_gradient_by_samples;

  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t samples) {
    if constexpr (end::projects)
      return projection::template workspace_bytes<S>(samples);
    else
      return 0;
  }

  /// y = block + skip.
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> block,
                      matrix_view<const S> skip, matrix_view<S> y, std::byte*) {
    Backend::local_for_each(
        context, y.size(),
        map_expression<S, 2>(expr::x + expr::y, {block.data, skip.data}, y.data));
  }
  /// y = block + P skip, P the 1x1 strided projection.
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> w,
                      matrix_view<const S> block, matrix_view<const S> skip, matrix_view<S> y,
                      std::byte* workspace) {
    projection::forward(context, w, skip, y, workspace);
    Backend::local_for_each(context, y.size(),
                            map_expression<S, 2>(expr::x + expr::y, {y.data, block.data}, y.data));
  }
  /// Writes the skip's share of the gradient of the block's input (the block's own share is
  /// added to it when the network reaches residual_begin).
  template <class S>
  static void backward_skip(typename Backend::context& context, matrix_view<const S> dy,
                            matrix_view<S> d_skip, std::byte*) {
    Backend::local_for_each(context, dy.size(),
                            map_expression<S, 1>(expr::x, {dy.data}, d_skip.data));
  }
  template <class S>
  static void backward_skip(typename Backend::context& context, matrix_view<const S> w,
                            matrix_view<const S> dy, matrix_view<S> d_skip, std::byte* workspace) {
    projection::backward_inputs(context, w, dy, d_skip, workspace);
  }
  template <class S>
  static void backward_weights(typename Backend::context& context, matrix_view<const S> skip,
                               matrix_view<const S> dy, matrix_view<S> dw, std::byte* workspace) {
    projection::backward_weights(context, skip, dy, dw, workspace);
  }
};

}  // namespace agd
