// The layer concept: every layer is a small stateless struct with a uniform compile-time
// interface, so that agd::Sequential can resolve shapes, allocate buffers and unroll forward,
// backward and the optimiser step over the layer list at compile time (no virtual calls).
//
// Every layer provides
//   static constexpr std::size_t input_size;        // agd::any_size if it keeps any shape
//   static constexpr std::size_t output_size(std::size_t input_size);
//   static constexpr bool has_weights;
//   static std::string name();                       // e.g. "Dense<784,512>"
// A layer without weights (an activation) provides
//   static void forward(const_matrix_ref<S> x, matrix_ref<S> y);
//   static void backward(const_matrix_ref<S> x, const_matrix_ref<S> y,
//                        const_matrix_ref<S> dy, matrix_ref<S> dx);
// A layer with weights provides the shape of its weight matrix W (weight_rows x weight_cols),
// its AGD scale (the `singular_value` of the paper's Appendix B) and
//   static void forward(const_matrix_ref<S> w, const_matrix_ref<S> x, matrix_ref<S> y);
//   static void backward_weights(const_matrix_ref<S> x, const_matrix_ref<S> dy,
//                                matrix_ref<S> dw);
//   static void backward_inputs(const_matrix_ref<S> w, const_matrix_ref<S> dy,
//                               matrix_ref<S> dx);
// where x, y, dx, dy are batches stored as columns and dy already carries the loss's 1/n.
// Optional members: `weight_slices` (AGD normalises each of that many contiguous column blocks
// of W on its own, Appendix B; 1 if absent), `workspace_size` (per-thread scratch scalars, passed
// as a trailing S* to the three weighted calls) and `output_rows_per_weight_row` (how many rows
// of dy row r of dw depends on; 1 if absent). A layer whose sizes depend on the image size it
// receives (Conv2d, pooling) sets `shape_dependent = true` and provides
// `template <tensor_shape In> using bind = ...`, a layer of this interface with In fixed.
// The network runs these on blocks, in parallel, so a layer must (1) treat samples (columns)
// independently in forward, backward and backward_inputs, and (2) make row r of dw depend only
// on row r of dy in backward_weights (true of y = W x and of a convolution as a GEMM).
// docs/writing-a-layer.md walks through adding one.
#pragma once

#include <concepts>
#include <cstddef>
#include <limits>
#include <string>

#include "agd/core/matrix.hpp"

namespace agd {

/// Marks a layer whose input size is not fixed by its type (it takes whatever the previous
/// layer produces), e.g. an activation.
inline constexpr std::size_t any_size = std::numeric_limits<std::size_t>::max();

template <class L>
concept Layer = requires(std::size_t n) {
  { L::input_size } -> std::convertible_to<std::size_t>;
  { L::output_size(n) } -> std::convertible_to<std::size_t>;
  { L::has_weights } -> std::convertible_to<bool>;
  { L::name() } -> std::convertible_to<std::string>;
};

/// A layer without weights, checked for one scalar type.
template <class L, class S>
concept ActivationLayer =
    Layer<L> && !L::has_weights && requires(const_matrix_ref<S> x, const_matrix_ref<S> y,
                                            const_matrix_ref<S> dy, matrix_ref<S> out) {
  L::forward(x, out);
  L::backward(x, y, dy, out);
};

/// A layer with one weight tensor, stored as a weight_rows x weight_cols matrix.
template <class L, class S>
concept WeightedLayerWithoutScratch = requires(const_matrix_ref<S> w, const_matrix_ref<S> x,
                                               const_matrix_ref<S> dy, matrix_ref<S> out) {
  L::forward(w, x, out);
  L::backward_weights(x, dy, out);
  L::backward_inputs(w, dy, out);
};

/// A weighted layer that needs `workspace_size` scalars of per-thread scratch (a convolution's
/// im2row matrix): the network passes each call its thread's buffer.
template <class L, class S>
concept WeightedLayerWithScratch = requires(const_matrix_ref<S> w, const_matrix_ref<S> x,
                                            const_matrix_ref<S> dy, matrix_ref<S> out,
                                            S* workspace) {
  { L::workspace_size } -> std::convertible_to<std::size_t>;
  L::forward(w, x, out, workspace);
  L::backward_weights(x, dy, out, workspace);
  L::backward_inputs(w, dy, out, workspace);
};

template <class L, class S>
concept WeightedLayer = Layer<L> && L::has_weights && requires {
  { L::weight_rows } -> std::convertible_to<std::size_t>;
  { L::weight_cols } -> std::convertible_to<std::size_t>;
  { L::agd_scale } -> std::convertible_to<double>;
} &&(WeightedLayerWithoutScratch<L, S> || WeightedLayerWithScratch<L, S>);

template <class L, class S>
concept LayerFor = ActivationLayer<L, S> || WeightedLayer<L, S>;

}  // namespace agd
