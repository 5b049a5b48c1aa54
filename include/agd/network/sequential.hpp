// agd::Sequential<Layers...>: a network as a type. The layer list is a Boost.Hana compile-time
// sequence; every size, the depth L (number of weight tensors, as the paper's code counts
// `net.parameters()`), each d_k, each AGD scale sqrt(d_k/d_{k-1}) and the parameter count are
// constexpr, and forward and backward are unrolled over the list at compile time.
//
// Storage (CPU backend, Eigen): one weight and one gradient matrix per weighted layer, and one
// activation and one activation-gradient buffer per layer, each sized from the type and a batch
// capacity chosen at construction. Batches are columns; a batch of n <= capacity samples uses
// the leftCols(n) block, so a training step allocates nothing. Forward and backward run on the
// CPU pool (backend/eigen/threads.hpp): samples are split between threads, and so are the rows
// of each weight gradient.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/hana.hpp>

#include "agd/backend/eigen/threads.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/matrix.hpp"
#include "agd/network/shape_check.hpp"

namespace agd {

namespace detail {

template <class... Layers>
consteval auto resolve_activation_sizes() {
  std::array<std::size_t, sizeof...(Layers) + 1> sizes{};
  constexpr std::array<std::size_t, sizeof...(Layers)> fixed_inputs{Layers::input_size...};
  sizes[0] = fixed_inputs[0];
  std::size_t i = 0;
  ((sizes[i + 1] = Layers::output_size(sizes[i]), ++i), ...);
  return sizes;
}

/// Instantiates the readable shape_error template for every layer whose type fixes its input
/// size; the static_assert inside fires on the first mismatch.
template <class... Layers, std::size_t... I>
consteval bool check_adjacent_shapes(std::index_sequence<I...>) {
  using list = boost::hana::tuple<boost::hana::basic_type<Layers>...>;
  return (... && [] {
    if constexpr (I == 0) {
      return true;
    } else {
      using this_layer = typename decltype(+boost::hana::at_c<I>(list{}))::type;
      using previous_layer = typename decltype(+boost::hana::at_c<I - 1>(list{}))::type;
      if constexpr (this_layer::input_size == any_size) {
        return true;
      } else {
        return shape_error::layer<I + 1, this_layer>::template expects_inputs<
            this_layer::input_size>::template but_layer<I, previous_layer>::
            template produces_outputs<resolve_activation_sizes<Layers...>()[I]>::value;
      }
    }
  }());
}

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
constexpr double agd_scale_of() {
  if constexpr (L::has_weights)
    return L::agd_scale;
  else
    return 0.0;
}

}  // namespace detail

template <class Scalar, class... Layers>
class basic_sequential {
  static_assert(sizeof...(Layers) > 0, "agd::Sequential needs at least one layer");
  static_assert((Layer<Layers> && ...),
                "agd::Sequential: every element of the list must model agd::Layer "
                "(see include/agd/core/layer.hpp)");
  static_assert((LayerFor<Layers, Scalar> && ...),
                "agd::Sequential: every layer must provide forward/backward for the scalar type "
                "(see include/agd/core/layer.hpp)");

 public:
  using scalar_type = Scalar;
  using matrix_type = matrix<Scalar>;
  template <class OtherScalar>
  using rebind = basic_sequential<OtherScalar, Layers...>;

  /// The layer list as a compile-time Boost.Hana sequence of types.
  static constexpr auto layers = boost::hana::tuple_t<Layers...>;
  static constexpr std::size_t layer_count = sizeof...(Layers);

 private:
  static constexpr bool first_layer_fixes_input =
      shape_error::first_layer_must_fix_the_input_size<typename decltype(+boost::hana::at_c<0>(
          layers))::type>::value;
  static constexpr bool shapes_match =
      first_layer_fixes_input &&
      detail::check_adjacent_shapes<Layers...>(std::index_sequence_for<Layers...>{});
  static_assert(shapes_match,
                "agd::Sequential: the layer shapes do not fit together (see the error above)");

  static constexpr std::array<bool, layer_count> layer_has_weights{Layers::has_weights...};

 public:
  /// activation_sizes[i] is the size of the input of layer i (0-based); the last is the output.
  static constexpr auto activation_sizes = detail::resolve_activation_sizes<Layers...>();
  static constexpr std::size_t input_size = activation_sizes.front();
  static constexpr std::size_t output_size = activation_sizes.back();

  /// L: the number of weight tensors (the paper's depth; Appendix B counts net.parameters()).
  static constexpr std::size_t depth = (std::size_t{Layers::has_weights} + ...);
  static_assert(depth > 0, "agd::Sequential: the network has no layer with weights");

  /// weight_layer[k] is the position in the list of the k-th weighted layer (0-based).
  static constexpr std::array<std::size_t, depth> weight_layer = [] {
    std::array<std::size_t, depth> positions{};
    for (std::size_t i = 0, k = 0; i < layer_count; ++i)
      if (layer_has_weights[i]) positions[k++] = i;
    return positions;
  }();
  /// weight_index[i] is k for the k-th weighted layer at position i (depth for the others).
  static constexpr std::array<std::size_t, layer_count> weight_index = [] {
    std::array<std::size_t, layer_count> index{};
    for (std::size_t i = 0, k = 0; i < layer_count; ++i)
      index[i] = layer_has_weights[i] ? k++ : depth;
    return index;
  }();

  static constexpr std::array<std::size_t, depth> weight_rows = [] {
    constexpr std::array<std::size_t, layer_count> rows{detail::weight_rows_of<Layers>()...};
    std::array<std::size_t, depth> out{};
    for (std::size_t k = 0; k < depth; ++k) out[k] = rows[weight_layer[k]];
    return out;
  }();
  static constexpr std::array<std::size_t, depth> weight_cols = [] {
    constexpr std::array<std::size_t, layer_count> cols{detail::weight_cols_of<Layers>()...};
    std::array<std::size_t, depth> out{};
    for (std::size_t k = 0; k < depth; ++k) out[k] = cols[weight_layer[k]];
    return out;
  }();
  /// widths[k] = d_k for k = 0..L: d_0 the input of the first weight, d_k the output of the k-th.
  static constexpr std::array<std::size_t, depth + 1> widths = [] {
    std::array<std::size_t, depth + 1> d{};
    d[0] = weight_cols[0];
    for (std::size_t k = 0; k < depth; ++k) d[k + 1] = weight_rows[k];
    return d;
  }();
  /// agd_scales[k] = sqrt(d_k / d_{k-1}) for the k-th weight (0-based), Algorithm 1.
  static constexpr std::array<double, depth> agd_scales = [] {
    constexpr std::array<double, layer_count> scales{detail::agd_scale_of<Layers>()...};
    std::array<double, depth> out{};
    for (std::size_t k = 0; k < depth; ++k) out[k] = scales[weight_layer[k]];
    return out;
  }();
  static constexpr std::size_t parameter_count = [] {
    std::size_t n = 0;
    for (std::size_t k = 0; k < depth; ++k) n += weight_rows[k] * weight_cols[k];
    return n;
  }();
  /// Multiply-adds of one forward pass per sample; a training step costs about 3x this (the
  /// first layer's input gradient is skipped).
  static constexpr std::size_t forward_flops_per_sample = 2 * parameter_count;

  explicit basic_sequential(std::size_t batch_capacity = 128) {
    for (std::size_t k = 0; k < depth; ++k) {
      weights_[k].setZero(idx(weight_rows[k]), idx(weight_cols[k]));
      gradients_[k].setZero(idx(weight_rows[k]), idx(weight_cols[k]));
    }
    reserve(batch_capacity);
  }

  /// Resizes the batch buffers (this allocates; do it outside the training loop).
  void reserve(std::size_t batch_capacity) {
    if (batch_capacity == 0)
      throw std::invalid_argument("agd::Sequential: batch capacity must be > 0");
    capacity_ = batch_capacity;
    for (std::size_t i = 0; i <= layer_count; ++i) {
      activations_[i].setZero(idx(activation_sizes[i]), idx(capacity_));
      activation_gradients_[i].setZero(idx(activation_sizes[i]), idx(capacity_));
    }
    batch_ = 0;
  }
  std::size_t batch_capacity() const { return capacity_; }
  /// The number of samples in the last forward pass.
  std::size_t batch_size() const { return batch_; }

  matrix_type& weight(std::size_t k) { return weights_.at(k); }
  const matrix_type& weight(std::size_t k) const { return weights_.at(k); }
  matrix_type& gradient(std::size_t k) { return gradients_.at(k); }
  const matrix_type& gradient(std::size_t k) const { return gradients_.at(k); }

  /// Runs the network on a batch (d_0 x n, n <= capacity) and returns the d_L x n output.
  template <class Derived>
  auto forward(const Eigen::MatrixBase<Derived>& inputs) {
    check_batch(static_cast<std::size_t>(inputs.rows()), static_cast<std::size_t>(inputs.cols()),
                input_size, "forward", "inputs");
    batch_ = static_cast<std::size_t>(inputs.cols());
    activations_[0].leftCols(inputs.cols()) = inputs;
    return forward_from_input_buffer();
  }

  /// The d_0 x capacity input buffer: fill its first n columns and call forward_batch(n) to skip
  /// the copy forward() makes.
  matrix_type& input_buffer() { return activations_[0]; }
  auto forward_batch(std::size_t n) {
    check_batch(input_size, n, input_size, "forward_batch", "batch");
    batch_ = n;
    return forward_from_input_buffer();
  }

  /// The d_L x n output of the last forward pass.
  auto output() const { return activations_[layer_count].leftCols(idx(batch_)); }
  /// Where a loss writes dLoss/dOutput (d_L x n) for backward().
  auto output_gradient() { return activation_gradients_[layer_count].leftCols(idx(batch_)); }

  /// Backpropagates the output gradient stored by the loss through the layers, filling every
  /// gradient(k) with dLoss/dW_k.
  void backward() {
    const Eigen::Index n = idx(batch_);
    namespace hana = boost::hana;
    constexpr auto positions = hana::make_range(hana::size_c<0>, hana::size_c<layer_count>);
    // Region 1: the activation gradients, last layer first. Like the forward pass, each thread
    // owns a block of samples and needs nothing from the others.
    cpu_pool().run([&](unsigned thread, unsigned threads) {
      const auto [first, count] = split_range(n, thread, threads);
      if (count == 0) return;
      hana::for_each(hana::reverse(hana::to_tuple(positions)), [&](auto position) {
        constexpr std::size_t i = decltype(position)::value;
        using layer = typename decltype(+hana::at_c<i>(layers))::type;
        auto dy = activation_gradients_[i + 1].middleCols(first, count);
        auto dx = activation_gradients_[i].middleCols(first, count);
        if constexpr (layer::has_weights) {
          // The gradient with respect to the network's input is never needed.
          if constexpr (i > 0)
            layer::template backward_inputs<Scalar>(weights_[weight_index[i]], dy, dx);
        } else {
          layer::template backward<Scalar>(activations_[i].middleCols(first, count),
                                           activations_[i + 1].middleCols(first, count), dy, dx);
        }
      });
    });
    // Region 2: the weight gradients, a sum over all samples. Each thread takes a block of rows
    // of every dW_k = dy_k x_k^T (row r of dW depends only on row r of dy; see layer.hpp).
    cpu_pool().run([&](unsigned thread, unsigned threads) {
      hana::for_each(positions, [&](auto position) {
        constexpr std::size_t i = decltype(position)::value;
        using layer = typename decltype(+hana::at_c<i>(layers))::type;
        if constexpr (layer::has_weights) {
          auto& dw = gradients_[weight_index[i]];
          const auto [first, count] = split_range(dw.rows(), thread, threads, 16);
          if (count == 0) return;
          layer::template backward_weights<Scalar>(
              activations_[i].leftCols(n),
              activation_gradients_[i + 1].middleRows(first, count).leftCols(n),
              dw.middleRows(first, count));
        }
      });
    });
  }

  /// Backward from a given output gradient (copied into the output-gradient buffer).
  template <class Derived>
  void backward(const Eigen::MatrixBase<Derived>& output_gradient_value) {
    check_batch(static_cast<std::size_t>(output_gradient_value.rows()),
                static_cast<std::size_t>(output_gradient_value.cols()), output_size, "backward",
                "output gradient");
    if (static_cast<std::size_t>(output_gradient_value.cols()) != batch_)
      throw std::invalid_argument("agd::Sequential::backward: the output gradient has " +
                                  std::to_string(output_gradient_value.cols()) +
                                  " columns but the last forward pass had " +
                                  std::to_string(batch_) + " samples");
    output_gradient() = output_gradient_value;
    backward();
  }

  /// "layer 3 (Dense<512,512>)": the weighted layer that holds weight k, for messages.
  static std::string describe_weight(std::size_t k) {
    static const std::array<std::string, layer_count> names{Layers::name()...};
    return "layer " + std::to_string(weight_layer.at(k) + 1) + " (" + names[weight_layer.at(k)] +
           ")";
  }

  /// One line per layer: position, name, output shape, parameters and AGD scale.
  static std::string summary() {
    std::ostringstream out;
    out << "agd::Sequential: " << layer_count << " layers, depth L = " << depth << ", "
        << parameter_count << " parameters\n";
    std::size_t i = 0;
    (
        [&] {
          out << "  " << (i + 1) << ". " << Layers::name() << "  " << activation_sizes[i] << " -> "
              << activation_sizes[i + 1];
          if constexpr (Layers::has_weights)
            out << "  weights " << Layers::weight_rows << "x" << Layers::weight_cols
                << "  agd scale " << Layers::agd_scale;
          out << "\n";
          ++i;
        }(),
        ...);
    return out.str();
  }

 private:
  static Eigen::Index idx(std::size_t n) { return static_cast<Eigen::Index>(n); }

  void check_batch(std::size_t got_rows, std::size_t got_cols, std::size_t want_rows,
                   const char* where, const char* what) const {
    if (got_rows != want_rows)
      throw std::invalid_argument("agd::Sequential::" + std::string(where) + ": " + what +
                                  " have " + std::to_string(got_rows) +
                                  " rows but the network expects " + std::to_string(want_rows) +
                                  " (batches are stored as columns: one sample per column)");
    if (got_cols == 0 || got_cols > capacity_)
      throw std::invalid_argument(
          "agd::Sequential::" + std::string(where) + ": a batch of " + std::to_string(got_cols) +
          " samples does not fit the batch capacity " + std::to_string(capacity_) +
          " (construct the network with a larger capacity or call reserve())");
  }

  /// One parallel region: each thread carries its own block of samples (columns) through every
  /// layer, so layers need no barrier between them.
  auto forward_from_input_buffer() {
    const Eigen::Index n = idx(batch_);
    namespace hana = boost::hana;
    cpu_pool().run([&](unsigned thread, unsigned threads) {
      const auto [first, count] = split_range(n, thread, threads);
      if (count == 0) return;
      hana::for_each(hana::make_range(hana::size_c<0>, hana::size_c<layer_count>),
                     [&](auto position) {
                       constexpr std::size_t i = decltype(position)::value;
                       using layer = typename decltype(+hana::at_c<i>(layers))::type;
                       auto x = activations_[i].middleCols(first, count);
                       auto y = activations_[i + 1].middleCols(first, count);
                       if constexpr (layer::has_weights)
                         layer::template forward<Scalar>(weights_[weight_index[i]], x, y);
                       else
                         layer::template forward<Scalar>(x, y);
                     });
    });
    return activations_[layer_count].leftCols(n);
  }

  std::array<matrix_type, depth> weights_;
  std::array<matrix_type, depth> gradients_;
  std::array<matrix_type, layer_count + 1> activations_;
  std::array<matrix_type, layer_count + 1> activation_gradients_;
  std::size_t capacity_ = 0;
  std::size_t batch_ = 0;
};

/// The network type of the public contract: float32 on the CPU backend.
template <class... Layers>
using Sequential = basic_sequential<float, Layers...>;

}  // namespace agd
