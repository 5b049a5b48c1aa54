// Element-wise activations written as expressions. A layer that derives from
// agd::elementwise_activation and gives its function and derivative as expressions of the
// layer's input x (core/expression.hpp) runs on every backend with no kernel of its author's:
// each backend evaluates the expression in one fused pass (a vectorised loop on the CPU, one
// Thrust transform on CUDA).
//
//   struct Relu : agd::elementwise_activation {
//     static constexpr auto function = agd::expr::max(agd::expr::x, 0.0);
//     static constexpr auto derivative = agd::expr::where(agd::expr::x > 0.0, 1.0, 0.0);
//     static std::string name() { return "Relu"; }
//   };
//
// The derivative may use the layer's output y as well as its input x (a sigmoid's is y (1 - y)).
// The backward pass is derivative * dy, fused into the same single pass.
#pragma once

#include <concepts>
#include <cstddef>

#include "agd/core/elementwise.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/view.hpp"

namespace agd {

/// The base that declares a layer an element-wise activation: it keeps the size it is given,
/// has no weights, and provides `function` and `derivative` as expressions.
struct elementwise_activation {
  static constexpr std::size_t input_size = any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr bool has_weights = false;
};

template <class L>
concept ElementwiseActivation =
    Layer<L> && std::derived_from<L, elementwise_activation> && requires {
  requires expr::expression<decltype(L::function)>;
  requires expr::expression<decltype(L::derivative)>;
  requires decltype(L::function)::arity <= 1;    // a function of x alone
  requires decltype(L::derivative)::arity <= 2;  // of x and y
};

/// The kernel of every element-wise activation on every backend: the expressions, evaluated by
/// the backend's element-wise pass. The network passes whole columns (contiguous blocks).
/// Matched by the declaration (the base), not by the expressions: an activation that declares
/// itself one but lacks them is told so, rather than that it has no kernel.
template <class L, class Backend>
requires std::derived_from<L, elementwise_activation>
struct layer_kernel<L, Backend> : kernel_defaults {
  static_assert(ElementwiseActivation<L>,
                "agd: a layer derived from agd::elementwise_activation must give `function` (an "
                "expression of x) and `derivative` (of x and y) as static constexpr members "
                "(layers/activation.hpp)");
  /// Element by element: whatever the layout, as long as x and y share it.
  static constexpr layout_support layouts = layout_support::same_in_and_out;
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> x, matrix_view<S> y,
                      std::byte*) {
    Backend::local_for_each(context, x.size(), map_expression<S, 1>(L::function, {x.data}, y.data));
  }
  /// dx = f'(x) dy, with f' the layer's derivative (of x and its output y).
  template <class S>
  static void backward(typename Backend::context& context, matrix_view<const S> x,
                       matrix_view<const S> y, matrix_view<const S> dy, matrix_view<S> dx,
                       std::byte*) {
    Backend::local_for_each(
        context, x.size(),
        map_expression<S, 3>(L::derivative * expr::dy, {x.data, y.data, dy.data}, dx.data));
  }
};

}  // namespace agd
