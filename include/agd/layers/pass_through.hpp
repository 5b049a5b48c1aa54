// Layers that only relabel the shape of their input (Input, Flatten): columns are stored in CHW
// order whatever the shape, so values pass through as they are, and so do gradients. Such a
// layer derives from agd::detail::pass_through, and runs on every backend as a copy.
#pragma once

#include <cstddef>

#include "agd/core/elementwise.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/view.hpp"

namespace agd::detail {

struct pass_through {};

template <class L>
concept passes_through = std::derived_from<L, pass_through>;

}  // namespace agd::detail

namespace agd {

template <detail::passes_through L, class Backend>
struct layer_kernel<L, Backend> {
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> x, matrix_view<S> y,
                      std::byte*) {
    Backend::local_for_each(context, x.size(), map_expression<S, 1>(expr::x, {x.data}, y.data));
  }
  template <class S>
  static void backward(typename Backend::context& context, matrix_view<const S>,
                       matrix_view<const S>, matrix_view<const S> dy, matrix_view<S> dx,
                       std::byte*) {
    Backend::local_for_each(context, dy.size(), map_expression<S, 1>(expr::x, {dy.data}, dx.data));
  }
};

}  // namespace agd
