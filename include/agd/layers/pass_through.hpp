// Layers that only relabel the shape of their input (Input, Flatten): columns are stored in CHW
// order whatever the shape, so values pass through as they are, and so do gradients. Such a
// layer derives from agd::detail::pass_through, and runs on every backend as a copy. Where the
// backend keeps images in a blocked channel layout (core/view.hpp) and the two sides differ
// (the network's CHW input entering the image layers, or Flatten leaving them), the copy
// reorders the values between the two layouts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agd/core/elementwise.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/view.hpp"

namespace agd::detail {

/// Input and Flatten: a copy, converting between channel layouts.
struct pass_through : layer_capabilities {};

template <class L>
concept passes_through = std::derived_from<L, pass_through>;

}  // namespace agd::detail

namespace agd {

/// Copies the columns of `from` into `to` (same sizes, host memory), reordering the values of
/// each where the two views' channel layouts differ (one of them CHW).
template <class S>
void copy_between_layouts(matrix_view<const S> from, matrix_view<S> to) {
  const channel_layout blocked = from.layout.blocked() ? from.layout : to.layout;
  const std::size_t block = blocked.block, groups = blocked.channels / block;
  const std::size_t plane = from.rows / blocked.channels;
  for (std::size_t j = 0; j < from.cols; ++j) {
    const S* in = from.column(j);
    S* out = to.column(j);
    for (std::size_t g = 0; g < groups; ++g)
      for (std::size_t p = 0; p < plane; ++p)
        for (std::size_t lane = 0; lane < block; ++lane) {
          const std::size_t chw = (g * block + lane) * plane + p;
          const std::size_t grouped = (g * plane + p) * block + lane;
          if (from.layout.blocked())
            out[chw] = in[grouped];
          else
            out[grouped] = in[chw];
        }
  }
}

template <detail::passes_through L, class Backend>
struct layer_kernel<L, Backend> : kernel_defaults {
  /// Input and Flatten convert between a blocked layout and CHW where their two sides differ.
  static constexpr layout_support layouts =
      Backend::host_memory ? layout_support::any : layout_support::same_in_and_out;

  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> x, matrix_view<S> y,
                      std::byte*) {
    if (!(x.layout.block == y.layout.block)) return copy_between_layouts(x, y);
    Backend::local_for_each(context, x.size(), map_expression<S, 1>(expr::x, {x.data}, y.data));
  }
  template <class S>
  static void backward(typename Backend::context& context, matrix_view<const S>,
                       matrix_view<const S>, matrix_view<const S> dy, matrix_view<S> dx,
                       std::byte*) {
    if (!(dy.layout.block == dx.layout.block)) return copy_between_layouts(dy, dx);
    Backend::local_for_each(context, dy.size(), map_expression<S, 1>(expr::x, {dy.data}, dx.data));
  }
};

}  // namespace agd
