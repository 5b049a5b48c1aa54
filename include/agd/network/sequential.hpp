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

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/hana.hpp>

#include "agd/backend/eigen/threads.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/matrix.hpp"
#include "agd/core/shape.hpp"
#include "agd/network/resolve.hpp"
#include "agd/network/shape_check.hpp"

namespace agd {

namespace detail {

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
  if constexpr (L::has_weights && requires { L::weight_slices; })
    return L::weight_slices;
  else
    return L::has_weights ? 1 : 0;
}
template <class L>
constexpr double agd_scale_of() {
  if constexpr (L::has_weights)
    return L::agd_scale;
  else
    return 0.0;
}
template <class L>
constexpr std::size_t workspace_of() {
  if constexpr (requires { L::workspace_size; })
    return L::workspace_size;
  else
    return 0;
}
/// A layer whose output for a sample depends on the other samples of the batch (BatchNorm).
template <class L>
concept couples_samples = requires {
  requires L::couples_samples;
};

template <class L>
constexpr std::size_t output_rows_per_weight_row_of() {
  if constexpr (requires { L::output_rows_per_weight_row; })
    return L::output_rows_per_weight_row;
  else
    return 1;
}

/// Compile-time facts about a resolved layer list (resolve.hpp), one array entry per layer.
template <class Scalar, class List>
struct layer_list_facts;
template <class Scalar, class... Bound>
struct layer_list_facts<Scalar, type_list<Bound...>> {
  static constexpr std::size_t count = sizeof...(Bound);
  static constexpr auto types = boost::hana::tuple_t<Bound...>;
  static constexpr bool all_layers = (Layer<Bound> && ...);
  static constexpr bool all_runnable =
      ((LayerFor<Bound, Scalar> || opens_residual<Bound> || closes_residual<Bound>)&&...);
  static constexpr std::array<bool, count> has_weights{Bound::has_weights...};
  static constexpr std::array<std::size_t, count> input_sizes{Bound::input_size...};
  static constexpr std::array<std::size_t, count> rows{weight_rows_of<Bound>()...};
  static constexpr std::array<std::size_t, count> cols{weight_cols_of<Bound>()...};
  static constexpr std::array<std::size_t, count> slices{weight_slices_of<Bound>()...};
  static constexpr std::array<double, count> scales{agd_scale_of<Bound>()...};
  static constexpr std::array<bool, count> opens{opens_residual<Bound>...};
  static constexpr std::array<bool, count> closes{closes_residual<Bound>...};
  static constexpr std::array<bool, count> coupled{couples_samples<Bound>...};
  static constexpr bool any_coupled = (couples_samples<Bound> || ...);
  static constexpr std::size_t workspace = std::max({std::size_t{0}, workspace_of<Bound>()...});
  static std::array<std::string, count> names() { return {Bound::name()...}; }
};

/// Instantiates the readable shape_error template for every layer whose type fixes its input
/// size; the static_assert inside fires on the first mismatch.
template <class Types, std::size_t Count, std::array<std::size_t, Count + 1> Sizes,
          std::size_t... I>
consteval bool check_adjacent_shapes(std::index_sequence<I...>) {
  return (... && [] {
    if constexpr (I == 0) {
      return true;
    } else {
      using this_layer = typename decltype(+boost::hana::at_c<I>(Types{}))::type;
      using previous_layer = typename decltype(+boost::hana::at_c<I - 1>(Types{}))::type;
      if constexpr (this_layer::input_size == any_size) {
        return true;
      } else {
        return shape_error::layer<I + 1,
                                  this_layer>::template expects_inputs<this_layer::input_size>::
            template but_layer<I, previous_layer>::template produces_outputs<Sizes[I]>::value;
      }
    }
  }());
}

}  // namespace detail

template <class Scalar, class... Layers>
class basic_sequential {
  static_assert(sizeof...(Layers) > 0, "agd::Sequential needs at least one layer");
  using facts = detail::layer_list_facts<Scalar, detail::resolved_layers_t<Layers...>>;
  static_assert(facts::all_layers,
                "agd::Sequential: every element of the list must model agd::Layer "
                "(see include/agd/core/layer.hpp)");
  static_assert(facts::all_runnable,
                "agd::Sequential: every layer must provide forward/backward for the scalar type "
                "(see include/agd/core/layer.hpp)");

 public:
  using scalar_type = Scalar;
  using matrix_type = matrix<Scalar>;
  template <class OtherScalar>
  using rebind = basic_sequential<OtherScalar, Layers...>;
  /// The same network on another backend, e.g. Net::on<agd::cuda::device>
  /// (include/agd/backend/cuda/sequential.hpp): only storage and kernels change.
  template <class Backend>
  using on = typename Backend::template network<Scalar, Layers...>;

  /// The layers the network runs, as a compile-time Boost.Hana sequence of types: the list as
  /// written, with every residual block flattened between its two markers and every
  /// shape-dependent layer (Conv2d, pooling) bound to its input shape (resolve.hpp).
  static constexpr auto layers = facts::types;
  static constexpr std::size_t layer_count = facts::count;

  /// shapes[i] is the C x H x W shape of the input of layer i (0-based); the last is the output.
  static constexpr auto shapes = [] {
    return boost::hana::unpack(layers, [](auto... layer) {
      return detail::shapes_of<typename decltype(layer)::type...>(
          detail::resolve_list<detail::flattened_t<Layers...>>::input_shape);
    });
  }();
  /// activation_sizes[i] = shapes[i].size(): the rows of layer i's input batch.
  static constexpr auto activation_sizes = [] {
    std::array<std::size_t, layer_count + 1> sizes{};
    for (std::size_t i = 0; i <= layer_count; ++i) sizes[i] = shapes[i].size();
    return sizes;
  }();
  static constexpr std::size_t input_size = activation_sizes.front();
  static constexpr std::size_t output_size = activation_sizes.back();

 private:
  static constexpr bool shapes_match =
      detail::check_adjacent_shapes<std::remove_const_t<decltype(layers)>, layer_count,
                                    activation_sizes>(std::make_index_sequence<layer_count>{});
  static_assert(shapes_match,
                "agd::Sequential: the layer shapes do not fit together (see the error above)");

  /// skip_source[i]: for the layer closing a residual block, the position of the layer that
  /// opened it (its input is the skip); layer_count for every other layer.
  static constexpr std::array<std::size_t, layer_count> skip_source = [] {
    std::array<std::size_t, layer_count> source{};
    std::array<std::size_t, layer_count> open{};
    std::size_t depth_of_nesting = 0;
    for (std::size_t i = 0; i < layer_count; ++i) {
      source[i] = layer_count;
      if (facts::opens[i]) open[depth_of_nesting++] = i;
      if (facts::closes[i]) source[i] = open[--depth_of_nesting];
    }
    return source;
  }();

 public:
  /// L: the number of weight tensors (the paper's depth; Appendix B counts net.parameters()).
  static constexpr std::size_t depth = [] {
    std::size_t n = 0;
    for (bool weighted : facts::has_weights) n += weighted;
    return n;
  }();
  static_assert(depth > 0, "agd::Sequential: the network has no layer with weights");

  /// weight_layer[k] is the position in the list of the k-th weighted layer (0-based).
  static constexpr std::array<std::size_t, depth> weight_layer = [] {
    std::array<std::size_t, depth> positions{};
    for (std::size_t i = 0, k = 0; i < layer_count; ++i)
      if (facts::has_weights[i]) positions[k++] = i;
    return positions;
  }();
  /// weight_index[i] is k for the k-th weighted layer at position i (depth for the others).
  static constexpr std::array<std::size_t, layer_count> weight_index = [] {
    std::array<std::size_t, layer_count> index{};
    for (std::size_t i = 0, k = 0; i < layer_count; ++i)
      index[i] = facts::has_weights[i] ? k++ : depth;
    return index;
  }();

 private:
  template <const auto& PerLayer>
  static constexpr auto per_weight() {
    std::array<std::remove_cvref_t<decltype(PerLayer[0])>, depth> out{};
    for (std::size_t k = 0; k < depth; ++k) out[k] = PerLayer[weight_layer[k]];
    return out;
  }

 public:
  static constexpr std::array<std::size_t, depth> weight_rows = per_weight<facts::rows>();
  static constexpr std::array<std::size_t, depth> weight_cols = per_weight<facts::cols>();
  /// How many matrices AGD treats weight k as (Appendix B): 1 for Dense, K*K for a K x K
  /// convolution, whose slice s is the contiguous block of columns s*cols/slices .. +cols/slices.
  static constexpr std::array<std::size_t, depth> weight_slices = per_weight<facts::slices>();
  /// widths[k] = d_k for k = 0..L: d_0 the input of the first weight, d_k the output of the k-th
  /// (for a convolution, d_k counts its output channels and d_{k-1} its weight's columns).
  static constexpr std::array<std::size_t, depth + 1> widths = [] {
    std::array<std::size_t, depth + 1> d{};
    d[0] = weight_cols[0];
    for (std::size_t k = 0; k < depth; ++k) d[k + 1] = weight_rows[k];
    return d;
  }();
  /// agd_scales[k] = sqrt(d_k / d_{k-1}) for the k-th weight (0-based), Algorithm 1; divided by
  /// sqrt(K*K) for a K x K convolution (Appendix B).
  static constexpr std::array<double, depth> agd_scales = per_weight<facts::scales>();
  static constexpr std::size_t parameter_count = [] {
    std::size_t n = 0;
    for (std::size_t k = 0; k < depth; ++k) n += weight_rows[k] * weight_cols[k];
    return n;
  }();
  /// Multiply-adds of one forward pass per sample counted as 2 flops each: 2 * parameters for a
  /// fully-connected network; a convolution's weight is applied once per output position.
  static constexpr std::size_t forward_flops_per_sample = [] {
    std::size_t n = 0;
    for (std::size_t k = 0; k < depth; ++k)
      n += 2 * weight_rows[k] * weight_cols[k] * shapes[weight_layer[k] + 1].plane();
    return n;
  }();
  /// Scalars of scratch each thread needs (the largest im2row matrix; 0 without convolutions).
  static constexpr std::size_t workspace_per_thread = facts::workspace;

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
    reserve_workspaces();
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
    namespace hana = boost::hana;
    constexpr auto positions = hana::make_range(hana::size_c<0>, hana::size_c<layer_count>);
    reserve_workspaces();
    // Region 1: the activation gradients, last layer first, split like the forward pass.
    run_layers<false>();
    // Region 2: the weight gradients, a sum over all samples. Each thread takes a block of rows
    // of every dW_k (row r of dW depends only on its own rows of dY; see layer.hpp).
    cpu_pool().run([&](unsigned thread, unsigned threads) {
      hana::for_each(positions, [&](auto position) {
        constexpr std::size_t i = decltype(position)::value;
        using layer = typename decltype(+hana::at_c<i>(layers))::type;
        if constexpr (layer::has_weights) weight_gradient_layer<i>(thread, threads);
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
    static const std::array<std::string, layer_count> names = facts::names();
    return "layer " + std::to_string(weight_layer.at(k) + 1) + " (" + names[weight_layer.at(k)] +
           ")";
  }

  /// One line per layer: position, name, input and output shape, weights and AGD scale.
  static std::string summary() {
    const auto names = facts::names();
    std::ostringstream out;
    out << "agd::Sequential: " << layer_count << " layers, depth L = " << depth << ", "
        << parameter_count << " parameters\n";
    for (std::size_t i = 0; i < layer_count; ++i) {
      out << "  " << (i + 1) << ". " << names[i] << "  " << to_string(shapes[i]) << " -> "
          << to_string(shapes[i + 1]);
      if (facts::has_weights[i]) {
        out << "  weights " << facts::rows[i] << "x" << facts::cols[i];
        if (facts::slices[i] > 1) out << " (" << facts::slices[i] << " slices)";
        out << "  agd scale " << facts::scales[i];
      }
      out << "\n";
    }
    return out.str();
  }

 private:
  static constexpr Eigen::Index idx(std::size_t n) { return static_cast<Eigen::Index>(n); }

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

  /// One im2row scratch per pool thread, sized from the type; allocates only when the pool has
  /// grown since the last call (agd::set_threads), never in a steady training loop.
  void reserve_workspaces() {
    if constexpr (workspace_per_thread > 0) {
      const std::size_t threads = cpu_pool().size();
      if (workspaces_.size() < threads) workspaces_.resize(threads);
      for (auto& buffer : workspaces_)
        if (buffer.size() < workspace_per_thread) buffer.resize(workspace_per_thread);
    }
  }
  Scalar* workspace_of(unsigned thread) {
    if constexpr (workspace_per_thread > 0)
      return workspaces_[thread].data();
    else
      return nullptr;
  }

  // The per-layer steps below are kept out of line: inlined into one body unrolled over every
  // layer, a 50-layer network (ResNet-18) takes the optimiser minutes to compile; out of line,
  // each is compiled once, and a call per layer costs nothing next to its GEMMs.

  /// Layer i's forward pass on the samples [first, first + count).
  template <std::size_t i>
  [[gnu::noinline]] void forward_layer(Eigen::Index first, Eigen::Index count, Scalar* workspace) {
    using layer = typename decltype(+boost::hana::at_c<i>(layers))::type;
    auto x = activations_[i].middleCols(first, count);
    auto y = activations_[i + 1].middleCols(first, count);
    if constexpr (detail::closes_residual<layer>) {
      auto skip = activations_[skip_source[i]].middleCols(first, count);
      if constexpr (layer::has_weights)
        layer::template forward<Scalar>(weights_[weight_index[i]], x, skip, y, workspace);
      else
        layer::template forward<Scalar>(x, skip, y);
    } else if constexpr (detail::opens_residual<layer>) {
      y = x;
    } else if constexpr (layer::has_weights) {
      if constexpr (detail::workspace_of<layer>() > 0)
        layer::template forward<Scalar>(weights_[weight_index[i]], x, y, workspace);
      else
        layer::template forward<Scalar>(weights_[weight_index[i]], x, y);
    } else {
      layer::template forward<Scalar>(x, y);
    }
  }

  /// Layer i's backward pass to its input on the samples [first, first + count).
  template <std::size_t i>
  [[gnu::noinline]] void backward_layer(Eigen::Index first, Eigen::Index count, Scalar* workspace) {
    using layer = typename decltype(+boost::hana::at_c<i>(layers))::type;
    auto dy = activation_gradients_[i + 1].middleCols(first, count);
    auto dx = activation_gradients_[i].middleCols(first, count);
    if constexpr (detail::closes_residual<layer>) {
      // y = block + skip: the block's output gets dy, the skip's input its share, to which the
      // block's own gradient is added when the pass reaches the block's opening.
      auto d_skip = activation_gradients_[skip_source[i]].middleCols(first, count);
      dx = dy;
      if constexpr (layer::has_weights)
        layer::template backward_skip<Scalar>(weights_[weight_index[i]], dy, d_skip, workspace);
      else
        layer::template backward_skip<Scalar>(dy, d_skip);
    } else if constexpr (i == 0) {
      // The gradient with respect to the network's input is never needed.
    } else if constexpr (detail::opens_residual<layer>) {
      dx += dy;
    } else if constexpr (layer::has_weights) {
      if constexpr (detail::workspace_of<layer>() > 0)
        layer::template backward_inputs<Scalar>(weights_[weight_index[i]], dy, dx, workspace);
      else
        layer::template backward_inputs<Scalar>(weights_[weight_index[i]], dy, dx);
    } else {
      layer::template backward<Scalar>(activations_[i].middleCols(first, count),
                                       activations_[i + 1].middleCols(first, count), dy, dx);
    }
  }

  /// Thread `thread`'s block of rows of dW for weighted layer i, summed over the batch.
  template <std::size_t i>
  [[gnu::noinline]] void weight_gradient_layer(unsigned thread, unsigned threads) {
    using layer = typename decltype(+boost::hana::at_c<i>(layers))::type;
    const Eigen::Index n = idx(batch_);
    constexpr auto per_row = idx(detail::output_rows_per_weight_row_of<layer>());
    constexpr std::size_t input = detail::closes_residual<layer> ? skip_source[i] : i;
    auto& dw = gradients_[weight_index[i]];
    const auto [first, count] = split_range(dw.rows(), thread, threads, 16);
    if (count == 0) return;
    auto x = activations_[input].leftCols(n);
    auto dy = activation_gradients_[i + 1].middleRows(first * per_row, count * per_row).leftCols(n);
    if constexpr (detail::workspace_of<layer>() > 0)
      layer::template backward_weights<Scalar>(x, dy, dw.middleRows(first, count),
                                               workspace_of(thread));
    else
      layer::template backward_weights<Scalar>(x, dy, dw.middleRows(first, count));
  }

  /// A layer that couples samples (BatchNorm) on a block of whole channels, every sample.
  template <std::size_t i, bool Forward>
  [[gnu::noinline]] void run_coupled_layer(unsigned thread, unsigned threads) {
    using layer = typename decltype(+boost::hana::at_c<i>(layers))::type;
    constexpr auto plane = idx(layer::rows_per_channel);
    const Eigen::Index n = idx(batch_);
    const auto [first_channel, channels] =
        split_range(idx(layer::input_size) / plane, thread, threads);
    if (channels == 0 || (Forward == false && i == 0)) return;
    const Eigen::Index first = first_channel * plane, rows = channels * plane;
    auto x = activations_[i].middleRows(first, rows).leftCols(n);
    auto y = activations_[i + 1].middleRows(first, rows).leftCols(n);
    if constexpr (Forward) {
      layer::template forward<Scalar>(x, y);
    } else {
      layer::template backward<Scalar>(
          x, y, activation_gradients_[i + 1].middleRows(first, rows).leftCols(n),
          activation_gradients_[i].middleRows(first, rows).leftCols(n));
    }
  }

  /// Runs every layer forward (or backward, last layer first). Without a layer that couples
  /// samples, one parallel region: each thread carries its own block of samples through every
  /// layer, so layers need no barrier between them. With one (BatchNorm), one region per layer:
  /// the coupled layer splits channels between threads, the others samples.
  template <bool Forward>
  void run_layers() {
    namespace hana = boost::hana;
    const Eigen::Index n = idx(batch_);
    constexpr auto positions = [] {
      constexpr auto ascending =
          hana::to_tuple(hana::make_range(hana::size_c<0>, hana::size_c<layer_count>));
      if constexpr (Forward)
        return ascending;
      else
        return hana::reverse(ascending);
    }();
    auto on_samples = [&](auto position, unsigned thread, unsigned threads) {
      constexpr std::size_t i = decltype(position)::value;
      const auto [first, count] = split_range(n, thread, threads);
      if (count == 0) return;
      if constexpr (Forward)
        forward_layer<i>(first, count, workspace_of(thread));
      else
        backward_layer<i>(first, count, workspace_of(thread));
    };
    if constexpr (!facts::any_coupled) {
      cpu_pool().run([&](unsigned thread, unsigned threads) {
        hana::for_each(positions, [&](auto position) { on_samples(position, thread, threads); });
      });
    } else {
      hana::for_each(positions, [&](auto position) {
        constexpr std::size_t i = decltype(position)::value;
        cpu_pool().run([&](unsigned thread, unsigned threads) {
          if constexpr (facts::coupled[i])
            run_coupled_layer<i, Forward>(thread, threads);
          else
            on_samples(position, thread, threads);
        });
      });
    }
  }

  auto forward_from_input_buffer() {
    reserve_workspaces();
    run_layers<true>();
    return activations_[layer_count].leftCols(idx(batch_));
  }

  std::array<matrix_type, depth> weights_;
  std::array<matrix_type, depth> gradients_;
  std::array<matrix_type, layer_count + 1> activations_;
  std::array<matrix_type, layer_count + 1> activation_gradients_;
  std::vector<std::vector<Scalar>> workspaces_;
  std::size_t capacity_ = 0;
  std::size_t batch_ = 0;
};

/// The network type of the public contract: float32 on the CPU backend.
template <class... Layers>
using Sequential = basic_sequential<float, Layers...>;

}  // namespace agd
