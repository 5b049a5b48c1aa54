// agd::Sequential<Layers...>: a network as a type, and its execution on a backend.
//
// What the network is comes from agd::architecture<Layers...> (network/architecture.hpp), which
// every network type derives from: the layer list, every shape, the depth L, each d_k, each AGD
// scale sqrt(d_k/d_{k-1}), the parameter count and the flat parameter layout, all constexpr and
// backend-free. basic_network<Scalar, Backend, Layers...> adds what running it needs on one
// backend: buffers sized from the type and a batch capacity chosen at construction, and a walk
// over the layers, unrolled at compile time, that calls each layer's kernel for that backend
// (core/kernel.hpp). The same walk serves every backend:
//
// - Storage: every weight in one flat buffer, every gradient in another (the layout of the
//   architecture), one buffer holding every layer's input batch and one its gradient. Batches
//   are columns; a batch of n <= capacity samples is the first n columns of each block, so a
//   training step allocates nothing.
// - Execution: a forward or backward pass is one parallel region of the backend when no layer
//   couples samples (each CPU thread carries its own block of samples through every layer, with
//   no barrier between layers), else one region per layer (a coupled layer, BatchNorm, is split
//   by channels). The weight gradients are a second region, split by rows of each dW. The CUDA
//   backend runs a region as one "thread" that takes the whole batch on its stream.
//
//   using Net = agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
//   Net net(128);                                  // the CPU backend (Eigen), float
//   Net::on<agd::cuda::device> gpu_net(128);       // the same network on CUDA (<agd/cuda.hpp>)
//
// This header knows no backend: agd::Sequential, the network on the default (CPU) backend, is
// declared by <agd/sequential.hpp> (and so by <agd/agd.hpp>), above the backends, so that every
// include of network/ points down.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/hana/for_each.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/range.hpp>
#include <boost/hana/reverse.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>

#include "agd/core/backend.hpp"
#include "agd/core/elementwise.hpp"
#include "agd/core/errors.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/partition.hpp"
#include "agd/core/status.hpp"
#include "agd/core/view.hpp"
#include "agd/init/orthogonal.hpp"
#include "agd/network/architecture.hpp"
#include "agd/network/precision.hpp"

namespace agd {

namespace detail {

/// Checks every layer's kernel (core/kernel.hpp's kernel_error names the layer, its position,
/// the backend and what is missing) and says which the network may call. A class, not a
/// function, so that the compiler's trail from the error to the user's line stays short.
template <class Backend, class S, class List, class Positions>
struct kernel_checks;
template <class Backend, class S, class... Bound, std::size_t... I>
struct kernel_checks<Backend, S, type_list<Bound...>, std::index_sequence<I...>> {
  static constexpr std::array<bool, sizeof...(I)> usable{
      kernel_checked<I + 1, Bound, Backend, S>::value...};
};

}  // namespace detail

template <class Scalar, class Backend, class... Layers>
class basic_network : public architecture<Layers...> {
  static_assert(std::is_floating_point_v<Scalar>,
                "agd::Sequential: the scalar type must be float "
                "or double");
  static_assert(NetworkBackend<Backend, Scalar>,
                "agd::Sequential: the backend lacks a member of agd::NetworkBackend (the "
                "requirement that failed is named below; docs/writing-a-backend.md)");

 public:
  using architecture_type = architecture<Layers...>;
  using scalar_type = Scalar;
  using backend_type = Backend;
  using context_type = typename Backend::context;
  template <class OtherScalar>
  using rebind = basic_network<OtherScalar, Backend, Layers...>;
  /// The same network on another backend, e.g. Net::on<agd::cuda::device>: the same type-level
  /// facts and scalar type; only storage and kernels change.
  template <class OtherBackend>
  using on = basic_network<Scalar, OtherBackend, Layers...>;
  /// The same network computing in precision P (network/precision.hpp): Scalar itself (this
  /// type), or agd::bf16 for mixed precision (bf16 GEMM and convolution inputs, float sums and
  /// weights).
  template <class P>
  using with_precision = std::conditional_t<std::is_same_v<P, Scalar>, basic_network,
                                            precision_network<basic_network, P>>;
  /// What this network's GEMMs and convolutions multiply in: its scalar type.
  static constexpr compute_precision precision = compute_precision::native;
  /// A host matrix of this scalar type (batches, weights copied out).
  using matrix_type = matrix<Scalar>;
  /// How the backend presents a block of its memory to users: an Eigen::Map on the CPU, a
  /// device matrix_view on CUDA.
  using matrix_ref = typename Backend::template matrix_ref<Scalar>;

  using architecture_type::activation_offsets;
  using architecture_type::activation_sizes;
  using architecture_type::depth;
  using architecture_type::input_size;
  using architecture_type::layer_count;
  using architecture_type::output_size;
  using architecture_type::parameter_count;
  using architecture_type::skip_source;
  using architecture_type::weight_cols;
  using architecture_type::weight_index;
  using architecture_type::weight_offsets;
  using architecture_type::weight_rows;

 private:
  /// Whether layer i's kernel is complete (a missing one failed to compile already). The walk
  /// calls no kernel that is not, so that one error is all the compiler says.
  static constexpr std::array<bool, layer_count> kernel_usable =
      detail::kernel_checks<Backend, Scalar, detail::resolved_layers_t<Layers...>,
                            std::make_index_sequence<layer_count>>::usable;
  // Checked with the type (not when the constructor first reads it), so that the error's trail
  // is the network's type and the user's line.
  static_assert(kernel_usable.size() == layer_count);

  template <std::size_t I>
  using layer_at = typename architecture_type::template layer<I>;
  template <std::size_t I>
  using kernel_at = layer_kernel<layer_at<I>, Backend>;

  /// Whether layer i's backward pass must produce its input's gradient: only when a layer in
  /// front of it has weights (an Input or a layer in front of the first weight needs none).
  static constexpr bool gradient_needed_below(std::size_t i) {
    return depth > 0 && i > architecture_type::weight_layer[0];
  }

  /// Whether weight k's gradient is summed per block of samples (weight_gradient_by_samples),
  /// and where its partial sums lie in a thread's block of partial_gradients_.
  static constexpr std::array<bool, depth> by_samples =
      []<std::size_t... I>(std::index_sequence<I...>) {
    std::array<bool, depth> result{};
    (..., [&] {
      if constexpr (!detail::opens_residual<layer_at<I>> && kernel_usable[I])
        if constexpr (layer_at<I>::has_weights)
          result[weight_index[I]] = kernel_at<I>::weight_gradient_by_samples;
    }());
    return result;
  }
  (std::make_index_sequence<layer_count>{});
  static constexpr std::array<std::size_t, depth + 1> partial_offsets = [] {
    std::array<std::size_t, depth + 1> offsets{};
    for (std::size_t k = 0; k < depth; ++k)
      offsets[k + 1] = offsets[k] + (by_samples[k] ? weight_rows[k] * weight_cols[k] : 0);
    return offsets;
  }();
  static constexpr std::size_t partial_size = partial_offsets[depth];

  /// What layer i's kernel accepts of blocked channel layouts (core/kernel.hpp); a residual
  /// block's opening is the network's own copy, which needs its two sides alike.
  template <std::size_t I>
  static constexpr layout_support layouts_of() {
    if constexpr (detail::opens_residual<layer_at<I>>)
      return layout_support::same_in_and_out;
    else if constexpr (!kernel_usable[I])
      return layout_support::plain_only;
    else
      return kernel_at<I>::layouts;
  }

 public:
  /// Whether activation i (layer i's input; layer_count: the output) may be kept in the
  /// backend's blocked channel layout (core/view.hpp). Only images of whole groups of 16
  /// channels (the widest group a backend uses, so any narrower one divides it too), never
  /// the network's input or output (the caller's, in CHW), and only between kernels that
  /// declare they read it; a layer that needs its two sides alike (an element-wise activation,
  /// batch norm, a residual sum with its identity skip) makes them alike, CHW if either must be.
  static constexpr std::array<bool, layer_count + 1> may_block =
      []<std::size_t... I>(std::index_sequence<I...>) {
    constexpr std::array<layout_support, layer_count> support{layouts_of<I>()...};
    constexpr std::array<bool, layer_count> identity_sum{
        (detail::closes_residual<layer_at<I>> && !layer_at<I>::has_weights)...};
    std::array<bool, layer_count + 1> ok{};
    for (std::size_t i = 1; i < layer_count; ++i)
      ok[i] = architecture_type::shapes[i].channels % 16 == 0 &&
              architecture_type::shapes[i].plane() > 1 &&
              support[i - 1] != layout_support::plain_only &&
              support[i] != layout_support::plain_only;
    for (std::size_t i = 0; i < layer_count; ++i)
      if (skip_source[i] != layer_count && support[i] == layout_support::plain_only)
        ok[skip_source[i]] = false;
    for (bool changed = true; changed;) {
      changed = false;
      const auto alike = [&](std::size_t a, std::size_t b) {
        if (ok[a] != ok[b]) ok[a] = ok[b] = false, changed = true;
      };
      for (std::size_t i = 0; i < layer_count; ++i) {
        if (support[i] == layout_support::same_in_and_out) alike(i, i + 1);
        if (identity_sum[i]) alike(skip_source[i], i + 1), alike(i, i + 1);
      }
    }
    return ok;
  }
  (std::make_index_sequence<layer_count>{});
  /// The channel layout of activation i in this network (CHW unless may_block[i] and the
  /// backend blocks channels for this scalar type).
  channel_layout activation_layout(std::size_t i) const { return layouts_.at(i); }

 private:
  /// Scratch one thread needs for the largest kernel's workspace, for a block of `samples`.
  static constexpr std::size_t workspace_bytes(std::size_t samples) {
    return boost::hana::unpack(
        boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<layer_count>),
        [samples](auto... i) {
          std::size_t most = 0;
          ((most = std::max(most,
                            [&] {
                              constexpr std::size_t at = decltype(i)::value;
                              if constexpr (detail::opens_residual<layer_at<at>> ||
                                            !kernel_usable[at])
                                return std::size_t{0};
                              else
                                return kernel_at<at>::template workspace_bytes<Scalar>(samples);
                            }())),
           ...);
          return (most + 63) / 64 * 64;  // a cache line apart
        });
  }

 public:
  /// Buffers for batches of up to `batch_capacity` samples, sized from the type, and the
  /// weights initialised as AGD does (orthogonal, Algorithm 1), seeded: a network is usable
  /// as constructed. An optimiser constructed with a seed initialises it again its own way.
  explicit basic_network(std::size_t batch_capacity = 128, std::uint64_t seed = 0) {
    Backend::describe_failures_with(
        context_, [](const execution_status& status) { return describe_status(status); });
    const unsigned group = Backend::template channel_block<Scalar>(context_);
    for (std::size_t i = 0; i <= layer_count; ++i)
      layouts_[i] = {may_block[i] ? std::uint32_t(group) : 1u,
                     std::uint32_t(architecture_type::shapes[i].channels)};
    weights_.resize(parameter_count);
    gradients_.resize(parameter_count);
    reserve(batch_capacity);
    init::orthogonal(*this, seed);
  }

  /// Resizes the batch buffers (this allocates; do it outside the training loop).
  void reserve(std::size_t batch_capacity) {
    if (batch_capacity == 0)
      throw std::invalid_argument("agd::Sequential: batch capacity must be > 0");
    capacity_ = batch_capacity;
    activations_.resize(0);
    activation_gradients_.resize(0);
    activations_.resize(architecture_type::activation_size_per_sample * capacity_);
    activation_gradients_.resize(architecture_type::activation_size_per_sample * capacity_);
    labels_.resize(0);
    labels_.resize(capacity_);
    reductions_.resize(0);
    reductions_.resize(capacity_ + result_slot_count);
    workspace_threads_ = 0;
    reserve_workspaces();
    batch_ = 0;
  }
  std::size_t batch_capacity() const { return capacity_; }
  /// The number of samples in the last forward pass.
  std::size_t batch_size() const { return batch_; }
  /// Records a forward pass of n samples that ran without this object's host code: a step graph
  /// replayed on the device (train::fit's on_replay), which would otherwise leave batch_size()
  /// at whatever the host last ran (e.g. the last chunk of an evaluation).
  void set_batch_size(std::size_t n) {
    check_batch(input_size, n, input_size, "set_batch_size", "batch");
    batch_ = n;
  }

  // The flat parameter store (backend memory): weight k is the weight_rows[k] x weight_cols[k]
  // column-major matrix at weight_offsets[k], and so is its gradient.
  Scalar* weight_data() { return weights_.data(); }
  const Scalar* weight_data() const { return weights_.data(); }
  Scalar* gradient_data() { return gradients_.data(); }
  const Scalar* gradient_data() const { return gradients_.data(); }

  matrix_view<Scalar> weight_view(std::size_t k) { return tensor(weights_.data(), k); }
  matrix_view<const Scalar> weight_view(std::size_t k) const {
    return tensor<const Scalar>(weights_.data(), k);
  }
  matrix_view<Scalar> gradient_view(std::size_t k) { return tensor(gradients_.data(), k); }
  matrix_view<const Scalar> gradient_view(std::size_t k) const {
    return tensor<const Scalar>(gradients_.data(), k);
  }
  /// Weight k as the backend presents it (an Eigen::Map into the flat store on the CPU).
  auto weight(std::size_t k) { return present(weight_view(k)); }
  auto weight(std::size_t k) const { return present(weight_view(k)); }
  auto gradient(std::size_t k) { return present(gradient_view(k)); }
  auto gradient(std::size_t k) const { return present(gradient_view(k)); }

  /// Every weight, tensor after tensor in the flat layout, copied to the host (or from it).
  std::vector<Scalar> weights_to_host() const {
    std::vector<Scalar> host(parameter_count);
    Backend::download(context_, weights_.data(), parameter_count, host.data());
    Backend::synchronize(context_);
    return host;
  }
  void weights_from_host(std::span<const Scalar> host) {
    if (host.size() != parameter_count)
      throw std::invalid_argument(
          "agd::Sequential::weights_from_host: " + std::to_string(host.size()) +
          " values given for " + std::to_string(parameter_count) + " parameters");
    Backend::upload(context_, host.data(), parameter_count, weights_.data());
    Backend::synchronize(context_);
  }

  // Batches.

  /// Layer i's input block (i = layer_count: the output), all capacity columns.
  matrix_view<Scalar> activation_view(std::size_t i) { return block(activations_.data(), i); }
  matrix_view<const Scalar> activation_view(std::size_t i) const {
    return block<const Scalar>(activations_.data(), i);
  }
  matrix_view<Scalar> activation_gradient_view(std::size_t i) {
    return block(activation_gradients_.data(), i);
  }

  /// The d_0 x capacity input buffer: fill its first n columns and call forward_batch(n).
  auto input_buffer() { return present(activation_view(0)); }

  /// The labels of the batch in the input buffer, in backend memory (capacity entries): where
  /// train::fit gathers them, and what the losses (loss/evaluate.hpp) read.
  std::int32_t* label_buffer() { return labels_.data(); }
  const std::int32_t* label_buffer() const { return labels_.data(); }
  /// Scratch of the reductions over a batch (backend memory): one double per sample, then
  /// result_slot_count result slots (the batch loss, the number of correct predictions, and
  /// train::evaluate_with's two running sums).
  static constexpr std::size_t result_slot_count = 4;
  double* per_sample_scratch() { return reductions_.data(); }
  double* result_slots() { return reductions_.data() + capacity_; }

  /// Runs the network on the first n columns of the input buffer and returns a view of the
  /// d_L x n output, valid until the next forward pass (zero-copy).
  auto forward_batch(std::size_t n) {
    check_batch(input_size, n, input_size, "forward_batch", "batch");
    batch_ = n;
    reserve_workspaces();
    Backend::begin_pass(context_, pass_kind::forward);
    run_layers<true>();
    return output();
  }

  /// The d_L x n output of the last forward pass, as a view valid until the next one.
  auto output() { return present(activation_view(layer_count).middle_cols(0, batch_)); }
  auto output() const { return present(activation_view(layer_count).middle_cols(0, batch_)); }
  /// Where a loss writes dLoss/dOutput (d_L x n) for backward().
  auto output_gradient() {
    return present(activation_gradient_view(layer_count).middle_cols(0, batch_));
  }

  /// Backpropagates the output gradient stored by the loss through the layers, filling every
  /// gradient(k) with dLoss/dW_k.
  void backward() {
    if (batch_ == 0)
      throw std::logic_error("agd::Sequential::backward: no forward pass to go back through");
    reserve_workspaces();
    Backend::begin_pass(context_, pass_kind::backward);
    // Region 1: the activation gradients, last layer first, split like the forward pass.
    run_layers<false>();
    // Region 2: the weight gradients, a sum over all samples. Each thread takes a block of rows
    // of every dW_k (row r of dW depends only on its own rows of dY; see core/kernel.hpp).
    Backend::parallel(context_, [&](unsigned thread, unsigned threads) {
      boost::hana::for_each(positions(), [&](auto position) {
        constexpr std::size_t i = decltype(position)::value;
        if constexpr (layer_at<i>::has_weights) weight_gradient_layer<i>(thread, threads);
      });
    });
    // Region 3: where threads summed their own samples, thread 0 into dW and the others into
    // their partial blocks, the partial sums are added onto dW (each thread a part of it).
    if constexpr (partial_size > 0) {
      if (Backend::thread_count(context_) > 1) add_partial_gradients();
    }
  }

  /// Like backward(), with a hook for overlapping communication (data-parallel training,
  /// distributed/data_parallel.hpp): runs layer by layer, last layer first, and calls
  /// on_weight_gradient(k) as soon as dW_k is complete, so weights are announced from the last
  /// (k = depth - 1) to the first. The hook runs on the calling thread, between the backend's
  /// parallel regions (on CUDA: after dW_k's work is enqueued on the stream). The gradients are
  /// the same, bit for bit, as backward()'s (the same kernels on the same splits); the price is
  /// two regions per layer instead of two in all, which is why backward() keeps its own path.
  template <class OnWeightGradient>
  void backward_by_layer(OnWeightGradient&& on_weight_gradient) {
    namespace hana = boost::hana;
    if (batch_ == 0)
      throw std::logic_error(
          "agd::Sequential::backward_by_layer: no forward pass to go back "
          "through");
    reserve_workspaces();
    Backend::begin_pass(context_, pass_kind::backward);
    const std::size_t n = batch_;
    hana::for_each(hana::reverse(hana::to_tuple(positions())), [&](auto position) {
      constexpr std::size_t i = decltype(position)::value;
      // dW_i needs only dY_{i+1}, complete once every later layer has gone back.
      if constexpr (layer_at<i>::has_weights) {
        constexpr std::size_t k = architecture_type::weight_index[i];
        Backend::parallel(context_, [&](unsigned thread, unsigned threads) {
          weight_gradient_layer<i>(thread, threads);
        });
        if constexpr (by_samples[k]) {
          if (Backend::thread_count(context_) > 1) add_partial_gradients(k);
        }
        on_weight_gradient(k);
      }
      if constexpr (i == 0) return;  // no layer needs the gradient of the network's input
      Backend::parallel(context_, [&](unsigned thread, unsigned threads) {
        if constexpr (architecture_type::coupled[i]) {
          run_coupled_layer<i, false>(thread, threads);
        } else {
          const auto [first, count] = split_range(std::ptrdiff_t(n), thread, threads);
          if (count > 0)
            backward_layer<i>(std::size_t(first), std::size_t(count), workspace_of(thread));
        }
      });
    });
  }

  // The data boundary, on any backend: host matrices in, host matrices out (copies; a step in
  // train::fit never needs them).

  /// Copies a batch (d_0 x n inputs, n labels) from the host into the input and label buffers.
  template <class Derived>
  void load_batch(const Eigen::MatrixBase<Derived>& inputs, std::span<const std::int32_t> labels) {
    check_batch(static_cast<std::size_t>(inputs.rows()), static_cast<std::size_t>(inputs.cols()),
                input_size, "load_batch", "inputs");
    if (labels.size() != static_cast<std::size_t>(inputs.cols()))
      throw std::invalid_argument("agd::Sequential::load_batch: " + std::to_string(labels.size()) +
                                  " labels for " + std::to_string(inputs.cols()) + " samples");
    const matrix_type host = inputs.template cast<Scalar>();
    Backend::upload(context_, host.data(), std::size_t(host.size()), activation_view(0).data);
    Backend::upload(context_, labels.data(), labels.size(), labels_.data());
    Backend::synchronize(context_);
  }
  /// The d_L x n output of the last forward pass, copied to the host.
  matrix_type output_to_host() const { return block_to_host(activation_view(layer_count)); }
  /// dLoss/dOutput (d_L x n) of the last loss with a gradient, copied to the host.
  matrix_type output_gradient_to_host() const {
    return block_to_host(block<const Scalar>(activation_gradients_.data(), layer_count));
  }
  matrix_type weight_to_host(std::size_t k) const { return tensor_to_host(weights_.data(), k); }
  matrix_type gradient_to_host(std::size_t k) const { return tensor_to_host(gradients_.data(), k); }

  // The CPU backend's conveniences, on Eigen matrices in host memory.

  /// Runs the network on a batch (d_0 x n, n <= capacity) and returns its d_L x n output as a
  /// matrix of its own (a copy: later passes do not change it). forward_view() gives the
  /// zero-copy view instead.
  template <class Derived>
  requires(Backend::host_memory) matrix_type forward(const Eigen::MatrixBase<Derived>& inputs) {
    return forward_view(inputs);
  }
  /// Like forward(), but returns a view of the network's output buffer, which the next forward
  /// pass overwrites.
  template <class Derived>
  requires(Backend::host_memory) auto forward_view(const Eigen::MatrixBase<Derived>& inputs) {
    check_batch(static_cast<std::size_t>(inputs.rows()), static_cast<std::size_t>(inputs.cols()),
                input_size, "forward", "inputs");
    input_buffer().leftCols(inputs.cols()) = inputs.template cast<Scalar>();
    return forward_batch(static_cast<std::size_t>(inputs.cols()));
  }

  /// Backward from a given output gradient (copied into the output-gradient buffer).
  template <class Derived>
  requires(Backend::host_memory) void backward(
      const Eigen::MatrixBase<Derived>& output_gradient_value) {
    check_batch(static_cast<std::size_t>(output_gradient_value.rows()),
                static_cast<std::size_t>(output_gradient_value.cols()), output_size, "backward",
                "output gradient");
    if (static_cast<std::size_t>(output_gradient_value.cols()) != batch_)
      throw std::invalid_argument("agd::Sequential::backward: the output gradient has " +
                                  std::to_string(output_gradient_value.cols()) +
                                  " columns but the last forward pass had " +
                                  std::to_string(batch_) + " samples");
    output_gradient() = output_gradient_value.template cast<Scalar>();
    backward();
  }

  // The backend's execution state (its stream on CUDA), for optimisers and losses.
  context_type& context() const { return context_; }

  /// Throws agd::non_finite_error if the last step found a NaN or an infinity (on the CUDA
  /// backend this waits for the step), naming where, and clears the status. `where` prefixes
  /// the message ("agd::AGD::step"); `loss_name` names the loss in it.
  void check_status(const std::string& where = "", const std::string& loss_name = "") {
    const execution_status status = Backend::read_status(context_);
    if (status.code == status_code::ok) return;
    Backend::clear_status(context_);
    throw non_finite_error((where.empty() ? "" : where + ": ") +
                           describe_status(status, loss_name));
  }

  static std::string describe_status(const execution_status& status,
                                     const std::string& loss_name = "") {
    switch (status.code) {
      case status_code::non_finite_gradient:
        return "the gradient of " + architecture_type::describe_weight(std::size_t(status.index)) +
               " contains NaN or Inf; no weight was changed. Check the inputs, the loss and the "
               "layer's backward pass.";
      case status_code::non_finite_loss:
        return "the " + (loss_name.empty() ? std::string() : loss_name + " ") + "loss is " +
               std::to_string(status.value) +
               "; no weight was changed. The network's output overflowed or the inputs are too "
               "large.";
      default:
        return "no error";
    }
  }

 private:
  static constexpr auto positions() {
    return boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<layer_count>);
  }

  matrix_type block_to_host(matrix_view<const Scalar> all) const {
    matrix_type host(Eigen::Index(all.rows), Eigen::Index(batch_));
    Backend::download(context_, all.data, all.rows * batch_, host.data());
    Backend::synchronize(context_);
    return host;
  }
  matrix_type tensor_to_host(const Scalar* flat, std::size_t k) const {
    matrix_type host(Eigen::Index(weight_rows.at(k)), Eigen::Index(weight_cols.at(k)));
    Backend::download(context_, flat + weight_offsets[k], std::size_t(host.size()), host.data());
    Backend::synchronize(context_);
    return host;
  }
  template <class T = Scalar>
  matrix_view<T> block(T* base, std::size_t i) const {
    return {base + activation_offsets.at(i) * capacity_, activation_sizes.at(i), capacity_,
            activation_sizes.at(i), layouts_.at(i)};
  }
  template <class T = Scalar, class Pointer>
  static matrix_view<T> tensor(Pointer flat, std::size_t k) {
    return {flat + weight_offsets.at(k), weight_rows.at(k), weight_cols.at(k), weight_rows.at(k)};
  }
  /// A view as the backend presents it to users.
  template <class T>
  static auto present(matrix_view<T> v) {
    if constexpr (Backend::host_memory) {
      using plain = std::remove_const_t<T>;
      using map = std::conditional_t<std::is_const_v<T>, Eigen::Map<const matrix<plain>>,
                                     Eigen::Map<matrix<plain>>>;
      return map(v.data, Eigen::Index(v.rows), Eigen::Index(v.cols));
    } else {
      return v;
    }
  }

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

  /// One scratch block per thread, sized from the type; allocates only when the backend has
  /// more threads than at the last call (agd::set_threads), never in a steady training loop.
  void reserve_workspaces() {
    constexpr std::size_t nothing = workspace_bytes(1);
    if constexpr (nothing == 0 && workspace_bytes(1 << 20) == 0 && partial_size == 0) return;
    const unsigned threads = Backend::thread_count(context_);
    if (threads <= workspace_threads_) return;
    workspace_per_thread_ = workspace_bytes(capacity_);
    workspace_.resize(0);
    workspace_.resize(workspace_per_thread_ * threads);
    partial_gradients_.resize(0);
    partial_gradients_.resize(partial_size * (threads - 1));
    workspace_threads_ = threads;
  }
  std::byte* workspace_of(unsigned thread) {
    return workspace_per_thread_ ? workspace_.data() + thread * workspace_per_thread_ : nullptr;
  }

  /// Layer i's forward pass on the samples [first, first + count). Out of line: inlined into one
  /// body unrolled over every layer, a 50-layer network (ResNet-18) takes the optimiser minutes
  /// to compile; out of line, each is compiled once, and a call per layer costs nothing next to
  /// its GEMMs.
  template <std::size_t i>
  [[gnu::noinline]] void forward_layer(std::size_t first, std::size_t count, std::byte* workspace) {
    using layer = layer_at<i>;
    const matrix_view<const Scalar> x = activation_view(i).middle_cols(first, count);
    const matrix_view<Scalar> y = activation_view(i + 1).middle_cols(first, count);
    if constexpr (!kernel_usable[i]) {
    } else if constexpr (detail::opens_residual<layer>) {
      Backend::local_for_each(context_, y.size(),
                              map_expression<Scalar, 1>(expr::x, {x.data}, y.data));
    } else if constexpr (detail::closes_residual<layer>) {
      const matrix_view<const Scalar> skip =
          activation_view(skip_source[i]).middle_cols(first, count);
      if constexpr (layer::has_weights)
        kernel_at<i>::template forward<Scalar>(context_, weight_view(weight_index[i]), x, skip, y,
                                               workspace);
      else
        kernel_at<i>::template forward<Scalar>(context_, x, skip, y, workspace);
    } else if constexpr (layer::has_weights) {
      kernel_at<i>::template forward<Scalar>(context_, weight_view(weight_index[i]), x, y,
                                             workspace);
    } else {
      kernel_at<i>::template forward<Scalar>(context_, x, y, workspace);
    }
  }

  /// Layer i's backward pass to its input on the samples [first, first + count).
  template <std::size_t i>
  [[gnu::noinline]] void backward_layer(std::size_t first, std::size_t count,
                                        std::byte* workspace) {
    using layer = layer_at<i>;
    const matrix_view<const Scalar> dy = activation_gradient_view(i + 1).middle_cols(first, count);
    const matrix_view<Scalar> dx = activation_gradient_view(i).middle_cols(first, count);
    if constexpr (!kernel_usable[i]) {
    } else if constexpr (detail::closes_residual<layer>) {
      // y = block + skip: the block's output gets dy, the skip's input its share, to which the
      // block's own gradient is added when the pass reaches the block's opening.
      const matrix_view<Scalar> d_skip =
          activation_gradient_view(skip_source[i]).middle_cols(first, count);
      Backend::local_for_each(context_, dx.size(),
                              map_expression<Scalar, 1>(expr::x, {dy.data}, dx.data));
      if constexpr (layer::has_weights)
        kernel_at<i>::template backward_skip<Scalar>(context_, weight_view(weight_index[i]), dy,
                                                     d_skip, workspace);
      else
        kernel_at<i>::template backward_skip<Scalar>(context_, dy, d_skip, workspace);
    } else if constexpr (!gradient_needed_below(i)) {
      // Below the first weighted layer no gradient is needed: not the network input's, nor
      // that of an Input (or any layer without weights) in front of the first convolution.
    } else if constexpr (detail::opens_residual<layer>) {
      Backend::local_for_each(
          context_, dx.size(),
          map_expression<Scalar, 2>(expr::x + expr::y, {dx.data, dy.data}, dx.data));
    } else if constexpr (layer::has_weights) {
      kernel_at<i>::template backward_inputs<Scalar>(context_, weight_view(weight_index[i]), dy, dx,
                                                     workspace);
    } else {
      kernel_at<i>::template backward<Scalar>(
          context_, activation_view(i).middle_cols(first, count),
          activation_view(i + 1).middle_cols(first, count), dy, dx, workspace);
    }
  }

  /// Thread `thread`'s block of rows of dW for weighted layer i, summed over the batch (of
  /// columns, for a kernel that splits by columns); or, for a kernel that sums by samples, all of
  /// dW over the thread's block of samples, into dW itself (thread 0) or the thread's partial block
  /// (added up by add_partial_gradients).
  template <std::size_t i>
  [[gnu::noinline]] void weight_gradient_layer(unsigned thread, unsigned threads) {
    using layer = layer_at<i>;
    constexpr std::size_t k = weight_index[i];
    constexpr std::size_t input = detail::closes_residual<layer> ? skip_source[i] : i;
    if constexpr (!kernel_usable[i]) {
      return;
    } else if constexpr (by_samples[k]) {
      const auto [first, count] = split_range(std::ptrdiff_t(batch_), thread, threads);
      const matrix_view<Scalar> dw =
          thread == 0 ? gradient_view(k)
                      : matrix_view<Scalar>{partial_gradients_.data() +
                                                (thread - 1) * partial_size + partial_offsets[k],
                                            weight_rows[k], weight_cols[k], weight_rows[k]};
      // Called with no samples too: the kernel then zeroes its dW.
      kernel_at<i>::template backward_weights<Scalar>(
          context_, activation_view(input).middle_cols(std::size_t(first), std::size_t(count)),
          activation_gradient_view(i + 1).middle_cols(std::size_t(first), std::size_t(count)), dw,
          workspace_of(thread));
      return;
    } else if constexpr (kernel_at<i>::weight_gradient_by_columns) {
      const auto [first, count] = split_range(std::ptrdiff_t(weight_cols[k]), thread, threads, 16);
      if (count == 0) return;
      const matrix_view<const Scalar> x = activation_view(input)
                                              .middle_rows(std::size_t(first), std::size_t(count))
                                              .middle_cols(0, batch_);
      const matrix_view<const Scalar> dy = activation_gradient_view(i + 1).middle_cols(0, batch_);
      const matrix_view<Scalar> dw =
          gradient_view(k).middle_cols(std::size_t(first), std::size_t(count));
      kernel_at<i>::template backward_weights<Scalar>(context_, x, dy, dw, workspace_of(thread));
    } else {
      constexpr std::size_t per_row = layer_traits<layer>::output_rows_per_weight_row;
      const auto [first, count] = split_range(std::ptrdiff_t(weight_rows[k]), thread, threads, 16);
      if (count == 0) return;
      const matrix_view<const Scalar> x = activation_view(input).middle_cols(0, batch_);
      const matrix_view<const Scalar> dy =
          activation_gradient_view(i + 1)
              .middle_rows(std::size_t(first) * per_row, std::size_t(count) * per_row)
              .middle_cols(0, batch_);
      const matrix_view<Scalar> dw =
          gradient_view(k).middle_rows(std::size_t(first), std::size_t(count));
      kernel_at<i>::template backward_weights<Scalar>(context_, x, dy, dw, workspace_of(thread));
    }
  }

  /// dW += the partial sums of threads 1.. for every weight summed by samples (or for weight
  /// `only` alone), each thread adding up a contiguous part of every such dW (in thread order:
  /// reproducible).
  void add_partial_gradients(std::size_t only = depth) {
    Backend::parallel(context_, [&](unsigned thread, unsigned threads) {
      for (std::size_t k = 0; k < depth; ++k) {
        if (!by_samples[k] || (only != depth && k != only)) continue;
        const std::size_t size = weight_rows[k] * weight_cols[k];
        const auto [first, count] = split_range(std::ptrdiff_t(size), thread, threads, 16);
        Scalar* dw = gradients_.data() + weight_offsets[k] + std::size_t(first);
        for (unsigned t = 1; t < threads; ++t) {
          const Scalar* part = partial_gradients_.data() + (t - 1) * partial_size +
                               partial_offsets[k] + std::size_t(first);
          Backend::local_for_each(context_, std::size_t(count),
                                  [dw, part](std::size_t e) { dw[e] += part[e]; });
        }
      }
    });
  }

  /// A layer that couples samples (BatchNorm) on a block of whole channels, every sample.
  template <std::size_t i, bool Forward>
  [[gnu::noinline]] void run_coupled_layer(unsigned thread, unsigned threads) {
    using layer = layer_at<i>;
    constexpr std::size_t plane = layer::rows_per_channel;
    // Whole channel groups of the layout (single channels in CHW).
    const std::size_t group = layouts_[i].block;
    const auto [first_group, groups] =
        split_range(std::ptrdiff_t(layer::input_size / plane / group), thread, threads);
    if (groups == 0 || (!Forward && !gradient_needed_below(i))) return;
    const std::size_t first = std::size_t(first_group) * group * plane;
    const std::size_t rows = std::size_t(groups) * group * plane;
    const auto channel_block = [&](matrix_view<Scalar> v) {
      return v.middle_rows(first, rows).middle_cols(0, batch_);
    };
    if constexpr (!kernel_usable[i]) {
    } else if constexpr (Forward) {
      kernel_at<i>::template forward<Scalar>(context_, channel_block(activation_view(i)),
                                             channel_block(activation_view(i + 1)),
                                             workspace_of(thread));
    } else {
      kernel_at<i>::template backward<Scalar>(
          context_, channel_block(activation_view(i)), channel_block(activation_view(i + 1)),
          channel_block(activation_gradient_view(i + 1)),
          channel_block(activation_gradient_view(i)), workspace_of(thread));
    }
  }

  /// Runs every layer forward (or backward, last layer first). Without a layer that couples
  /// samples, one parallel region: each thread carries its own block of samples through every
  /// layer, so layers need no barrier between them. With one (BatchNorm), one region per layer:
  /// the coupled layer splits channels between threads, the others samples.
  template <bool Forward>
  void run_layers() {
    namespace hana = boost::hana;
    const std::size_t n = batch_;
    constexpr auto order = [] {
      if constexpr (Forward)
        return hana::to_tuple(positions());
      else
        return hana::reverse(hana::to_tuple(positions()));
    }();
    auto on_samples = [&](auto position, unsigned thread, unsigned threads) {
      constexpr std::size_t i = decltype(position)::value;
      const auto [first, count] = split_range(std::ptrdiff_t(n), thread, threads);
      if (count == 0) return;
      if constexpr (Forward)
        forward_layer<i>(std::size_t(first), std::size_t(count), workspace_of(thread));
      else
        backward_layer<i>(std::size_t(first), std::size_t(count), workspace_of(thread));
    };
    if constexpr (!architecture_type::any_coupled) {
      Backend::parallel(context_, [&](unsigned thread, unsigned threads) {
        hana::for_each(order, [&](auto position) { on_samples(position, thread, threads); });
      });
    } else {
      hana::for_each(order, [&](auto position) {
        constexpr std::size_t i = decltype(position)::value;
        Backend::parallel(context_, [&](unsigned thread, unsigned threads) {
          if constexpr (architecture_type::coupled[i])
            run_coupled_layer<i, Forward>(thread, threads);
          else
            on_samples(position, thread, threads);
        });
      });
    }
  }

  mutable context_type context_;
  typename Backend::template buffer<Scalar> weights_;
  typename Backend::template buffer<Scalar> gradients_;
  typename Backend::template buffer<Scalar> activations_;
  typename Backend::template buffer<Scalar> activation_gradients_;
  typename Backend::template buffer<std::byte> workspace_;
  /// Per thread but the first, the partial weight gradients of the layers summed by samples.
  typename Backend::template buffer<Scalar> partial_gradients_;
  typename Backend::template buffer<std::int32_t> labels_;
  typename Backend::template buffer<double> reductions_;
  /// The channel layout of each activation (core/view.hpp), from may_block and the backend.
  std::array<channel_layout, layer_count + 1> layouts_{};
  std::size_t workspace_per_thread_ = 0;
  unsigned workspace_threads_ = 0;
  std::size_t capacity_ = 0;
  std::size_t batch_ = 0;
};

}  // namespace agd
