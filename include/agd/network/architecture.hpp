// agd::architecture<Layers...>: what a network *is*, apart from where it runs. Every fact here is
// a compile-time constant computed from the layer list alone, with no backend and no Eigen: the
// resolved layer list (resolve.hpp), every shape, the depth L, the widths d_k, the AGD scales,
// the parameter count, and the flat parameter layout that both backends use: every weight tensor
// one after the other in one buffer (column-major, as PyTorch's nn.Linear weight transposed), cut
// into the AGD slices of Appendix B. A network (network/sequential.hpp) adds storage and kernels
// for a backend; optimisers, checkpoints and the shared AGD maths read only these facts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>
#include <boost/hana/unpack.hpp>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/core/shape_check.hpp"
#include "agd/network/resolve.hpp"

namespace agd {

namespace detail {

/// Per-layer facts of a resolved layer list, one array entry per layer.
template <class List>
struct layer_list_facts;
template <class... Bound>
struct layer_list_facts<type_list<Bound...>> {
  static constexpr std::size_t count = sizeof...(Bound);
  static constexpr auto types = boost::hana::tuple_t<Bound...>;
  static constexpr bool all_layers = (Layer<Bound> && ...);
  static constexpr std::array<bool, count> has_weights{Bound::has_weights...};
  static constexpr std::array<std::size_t, count> rows{weight_rows_of<Bound>()...};
  static constexpr std::array<std::size_t, count> cols{weight_cols_of<Bound>()...};
  static constexpr std::array<std::size_t, count> slices{weight_slices_of<Bound>()...};
  static constexpr std::array<double, count> scales{agd_scale_of<Bound>()...};
  static constexpr std::array<bool, count> opens{opens_residual<Bound>...};
  static constexpr std::array<bool, count> closes{closes_residual<Bound>...};
  static constexpr std::array<bool, count> coupled{couples_samples<Bound>...};
  static constexpr bool any_coupled = (couples_samples<Bound> || ...);
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

template <class... Layers>
struct architecture {
  static_assert(sizeof...(Layers) > 0, "agd::Sequential needs at least one layer");

 private:
  using facts = detail::layer_list_facts<detail::resolved_layers_t<Layers...>>;
  static_assert(facts::all_layers,
                "agd::Sequential: every element of the list must model agd::Layer "
                "(see include/agd/core/layer.hpp)");

 public:
  /// The layers the network runs, as a compile-time Boost.Hana sequence of types: the list as
  /// written, with every residual block flattened between its two markers and every
  /// shape-dependent layer (Conv2d, pooling) bound to its input shape (resolve.hpp).
  static constexpr auto layers = facts::types;
  static constexpr std::size_t layer_count = facts::count;
  template <std::size_t I>
  using layer = typename decltype(+boost::hana::at_c<I>(layers))::type;

  /// shapes[i] is the C x H x W shape of the input of layer i (0-based); the last is the output.
  static constexpr auto shapes = [] {
    return boost::hana::unpack(layers, [](auto... bound) {
      return detail::shapes_of<typename decltype(bound)::type...>(
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

 public:
  /// Where each layer's input batch starts in one buffer holding every layer's, per sample:
  /// layer i's block of a batch of capacity c starts at activation_offsets[i] * c.
  static constexpr auto activation_offsets = [] {
    std::array<std::size_t, layer_count + 2> offsets{};
    for (std::size_t i = 0; i <= layer_count; ++i)
      offsets[i + 1] = offsets[i] + activation_sizes[i];
    return offsets;
  }();
  static constexpr std::size_t activation_size_per_sample = activation_offsets[layer_count + 1];

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
  static constexpr auto coupled = facts::coupled;
  static constexpr bool any_coupled = facts::any_coupled;

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

  /// The flat parameter layout: weight k is the rows x cols column-major matrix at
  /// weight_offsets[k] of one buffer of parameter_count scalars (and so is its gradient).
  static constexpr std::array<std::size_t, depth + 1> weight_offsets = [] {
    std::array<std::size_t, depth + 1> offsets{};
    for (std::size_t k = 0; k < depth; ++k)
      offsets[k + 1] = offsets[k] + weight_rows[k] * weight_cols[k];
    return offsets;
  }();
  static constexpr std::size_t parameter_count = weight_offsets[depth];
  /// weight_offsets as the segment table of a backend's per-tensor sums.
  static constexpr std::array<std::uint64_t, depth + 1> tensor_offsets = [] {
    std::array<std::uint64_t, depth + 1> offsets{};
    for (std::size_t k = 0; k <= depth; ++k) offsets[k] = weight_offsets[k];
    return offsets;
  }();

  /// The AGD slices of the flat buffer (Appendix B): slice s spans
  /// [slice_offsets[s], slice_offsets[s + 1]), belongs to weight slice_weight[s] and has its
  /// scale slice_scales[s]. A Dense weight is one slice; a K x K convolution's K*K slices are
  /// contiguous Cout x Cin blocks of its matrix.
  static constexpr std::size_t slice_count = [] {
    std::size_t n = 0;
    for (std::size_t k = 0; k < depth; ++k) n += weight_slices[k];
    return n;
  }();
  /// Where weight k's slices start among all slices.
  static constexpr std::array<std::size_t, depth + 1> first_slice = [] {
    std::array<std::size_t, depth + 1> first{};
    for (std::size_t k = 0; k < depth; ++k) first[k + 1] = first[k] + weight_slices[k];
    return first;
  }();
  static constexpr std::array<std::uint64_t, slice_count + 1> slice_offsets = [] {
    std::array<std::uint64_t, slice_count + 1> offsets{};
    for (std::size_t k = 0, s = 0; k < depth; ++k) {
      const std::size_t size = weight_rows[k] * weight_cols[k] / weight_slices[k];
      for (std::size_t j = 0; j < weight_slices[k]; ++j, ++s)
        offsets[s + 1] = offsets[s] + std::uint64_t(size);
    }
    return offsets;
  }();
  static constexpr std::array<std::uint32_t, slice_count> slice_weight = [] {
    std::array<std::uint32_t, slice_count> owner{};
    for (std::size_t k = 0, s = 0; k < depth; ++k)
      for (std::size_t j = 0; j < weight_slices[k]; ++j) owner[s++] = std::uint32_t(k);
    return owner;
  }();
  static constexpr std::array<double, slice_count> slice_scales = [] {
    std::array<double, slice_count> scales{};
    for (std::size_t s = 0; s < slice_count; ++s) scales[s] = agd_scales[slice_weight[s]];
    return scales;
  }();

  /// Multiply-adds of one forward pass per sample counted as 2 flops each: 2 * parameters for a
  /// fully-connected network; a convolution's weight is applied once per output position.
  static constexpr std::size_t forward_flops_per_sample = [] {
    std::size_t n = 0;
    for (std::size_t k = 0; k < depth; ++k)
      n += 2 * weight_rows[k] * weight_cols[k] * shapes[weight_layer[k] + 1].plane();
    return n;
  }();

  /// The name of every layer, in order.
  static std::array<std::string, layer_count> layer_names() { return facts::names(); }

  /// "layer 3 (Dense<512,512>)": the weighted layer that holds weight k, for messages.
  static std::string describe_weight(std::size_t k) {
    static const std::array<std::string, layer_count> names = facts::names();
    return "layer " + std::to_string(weight_layer.at(k) + 1) + " (" + names[weight_layer.at(k)] +
           ")";
  }

  /// One line per layer: position, name, input and output shape, weights and AGD scale.
  [[nodiscard(
      "summary() returns the text; print it, e.g. std::cout << Net::summary()")]] static std::string
  summary() {
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
};

}  // namespace agd
