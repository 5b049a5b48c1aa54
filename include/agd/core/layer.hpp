// The layer concept: a layer is a small stateless struct that *describes* one step of a network
// at compile time. It says nothing about how the step runs: that is its kernel for a backend
// (core/kernel.hpp), so that one network type runs on the CPU (Eigen) and on CUDA.
//
// Every layer provides
//   static constexpr std::size_t input_size;        // agd::any_size if it keeps any shape
//   static constexpr std::size_t output_size(std::size_t input_size);
//   static constexpr bool has_weights;
//   static std::string name();                       // e.g. "Dense<784,512>"
// A layer with weights also provides the shape of its weight matrix W (weight_rows x
// weight_cols) and its AGD scale `agd_scale` (the `singular_value` of the paper's Appendix B).
//
// Capabilities are declared, never guessed from the members a type happens to have: a layer
// that has one derives from agd::layer_capabilities and redeclares the member (its own hides the
// base's default), or specialises agd::layer_traits<L>. The network reads them only through
// layer_traits:
//   weight_slices = s         AGD normalises each of s contiguous column blocks of W on its own
//                             (Appendix B's per-(kx,ky) slices of a convolution; default 1);
//   output_rows_per_weight_row = r
//                             row k of dW depends only on rows k*r .. of dy (a convolution's
//                             output plane per channel; default 1);
//   shape_dependent = true    its sizes depend on the image it receives: it provides
//                             `template <tensor_shape In> using bind = ...`, a layer of this
//                             interface with In fixed (Conv2d, pooling, BatchNorm);
//   shapes_output = true      it gives the image shape of its output with
//                             `static constexpr tensor_shape output_shape(tensor_shape in)`
//                             (otherwise a layer of any_size input keeps the shape if it keeps
//                             the size, and every other layer's output is a flat vector);
//   couples_samples = true    its output for a sample depends on the other samples of the batch
//                             (BatchNorm): the network runs it on whole channels, every sample,
//                             and it provides `rows_per_channel`;
//   declares_input = true     agd::Input: fixes the network's input shape (`shape`);
//   derive from agd::elementwise_activation: an activation written as an expression
//                             (layers/activation.hpp), which every backend runs with no kernel
//                             of its author's.
// (opens_residual and closes_residual mark the network's own residual markers.)
// docs/writing-a-layer.md walks through adding one.
#pragma once

#include <concepts>
#include <cstddef>
#include <limits>
#include <string>

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

/// A layer with one weight tensor, stored as a weight_rows x weight_cols matrix.
template <class L>
concept WeightedLayer = Layer<L> && L::has_weights && requires {
  { L::weight_rows } -> std::convertible_to<std::size_t>;
  { L::weight_cols } -> std::convertible_to<std::size_t>;
  { L::agd_scale } -> std::convertible_to<double>;
};

/// A layer without weights (an activation, a pooling, a reshape).
template <class L>
concept UnweightedLayer = Layer<L> && !L::has_weights;

/// The capabilities a layer may declare, with their defaults (see the top of this file). A
/// layer derives from it and redeclares what it has; the base makes every member exist, so that
/// layer_traits reads them without asking whether they are there.
struct layer_capabilities {
  static constexpr std::size_t weight_slices = 1;
  static constexpr std::size_t output_rows_per_weight_row = 1;
  static constexpr bool shape_dependent = false;
  static constexpr bool shapes_output = false;
  static constexpr bool couples_samples = false;
  static constexpr bool declares_input = false;
  static constexpr bool opens_residual = false;
  static constexpr bool closes_residual = false;
};

/// What the network knows of a layer beyond the Layer concept. A layer that declares nothing
/// gets the defaults; specialise it for a layer one cannot change.
template <class L>
struct layer_traits : layer_capabilities {};

template <class L>
requires std::derived_from<L, layer_capabilities>
struct layer_traits<L> {
  static constexpr std::size_t weight_slices = L::weight_slices;
  static constexpr std::size_t output_rows_per_weight_row = L::output_rows_per_weight_row;
  static constexpr bool shape_dependent = L::shape_dependent;
  static constexpr bool shapes_output = L::shapes_output;
  static constexpr bool couples_samples = L::couples_samples;
  static constexpr bool declares_input = L::declares_input;
  static constexpr bool opens_residual = L::opens_residual;
  static constexpr bool closes_residual = L::closes_residual;
};

namespace detail {

template <class L>
concept shape_dependent_layer = layer_traits<L>::shape_dependent;
/// A layer whose output for a sample depends on the other samples of the batch (BatchNorm).
template <class L>
concept couples_samples = layer_traits<L>::couples_samples;
template <class L>
concept opens_residual = layer_traits<L>::opens_residual;
template <class L>
concept closes_residual = layer_traits<L>::closes_residual;

template <class L>
constexpr std::size_t weight_rows_of() {
  if constexpr (L::has_weights)
    return L::weight_rows;
  else
    return 0;
}
template <class L>
constexpr std::size_t weight_cols_of() {
  if constexpr (L::has_weights)
    return L::weight_cols;
  else
    return 0;
}
template <class L>
constexpr std::size_t weight_slices_of() {
  if constexpr (L::has_weights)
    return layer_traits<L>::weight_slices;
  else
    return 0;
}
template <class L>
constexpr double agd_scale_of() {
  if constexpr (L::has_weights)
    return L::agd_scale;
  else
    return 0.0;
}

}  // namespace detail
}  // namespace agd
