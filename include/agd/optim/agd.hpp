// Automatic gradient descent: Algorithm 1 of Bernstein et al. (2023), as in their Appendix B.
// No learning rate, no schedule, no state. One class for every backend: a step is
//   1. the squared norm of every AGD slice of every gradient, one segmented pass over the flat
//      gradient buffer (the backend's segmented_squared_norms);
//   2. G, eta and the per-slice factors, the shared maths of optim/agd_math.hpp, run once
//      (on the host for the CPU, in a one-thread kernel on CUDA);
//   3. W -= factor * grad over the flat weight buffer, slice by slice: one expression with the
//      slice's factor as a broadcast leaf (the backend's segmented_for_each).
// Nothing else: the backend supplies only the segmented sum and the scaled update.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "agd/core/elementwise.hpp"
#include "agd/core/errors.hpp"
#include "agd/core/expression.hpp"
#include "agd/init/orthogonal.hpp"
#include "agd/optim/agd_math.hpp"
#include "agd/optim/optimizer.hpp"

namespace agd {

struct agd_options {
  /// Multiplies every update (Appendix B's `gain`); the paper's results all use 1.
  double gain = 1.0;
  /// With a seed, the optimiser (re)initialises the network's weights with AGD's orthogonal
  /// scheme from it; without one it keeps the weights the network has (initialised the same way
  /// when it was constructed, or loaded).
  std::optional<std::uint64_t> seed = std::nullopt;

  /// Calls f(name, value) for every option: what data-parallel ranks compare before training
  /// (agd::train::fit), so that one rank with another gain cannot drift apart silently.
  template <class F>
  void for_each(F&& f) const {
    f("gain", gain);
    f("seed", seed);
  }
};

template <class Net>
class AGD {
 public:
  using scalar_type = typename Net::scalar_type;
  using backend = typename Net::backend_type;
  static constexpr std::size_t depth = Net::depth;
  static constexpr std::size_t slice_count = Net::slice_count;

  explicit AGD(Net& net, agd_options options = {}) : net_(net), options_(options) {
    detail::require_positive_option("agd::AGD", "the gain", options_.gain);
    if (options_.seed) init::orthogonal(net_, *options_.seed);
    auto& context = net_.context();
    offsets_.resize(slice_count + 1);
    scales_.resize(slice_count);
    owners_.resize(slice_count);
    backend::upload(context, Net::slice_offsets.data(), slice_count + 1, offsets_.data());
    backend::upload(context, Net::slice_scales.data(), slice_count, scales_.data());
    backend::upload(context, Net::slice_weight.data(), slice_count, owners_.data());
    squared_norms_.resize(slice_count);
    slice_norms_.resize(slice_count);
    weight_norms_.resize(depth);
    factors_.resize(slice_count);
    scalars_.resize(1);
    backend::synchronize(context);
  }

  /// One AGD step from the gradients the network holds; returns eta (on CUDA, a value that
  /// waits for the step only when read). A NaN or Inf in a gradient throws
  /// agd::non_finite_error before any weight changes (on CUDA, when the result is read).
  auto step() {
    auto& context = net_.context();
    backend::segmented_squared_norms(context, net_.gradient_data(), offsets_.data(), slice_count,
                                     squared_norms_.data());
    backend::single(context,
                    agd_step_scalars<scalar_type>{
                        squared_norms_.data(), scales_.data(), owners_.data(), slice_count, depth,
                        options_.gain, slice_norms_.data(), weight_norms_.data(), factors_.data(),
                        scalars_.data(), backend::status_pointer(context)});
    if constexpr (!backend::asynchronous) net_.check_status("agd::AGD::step");
    // W -= factor * grad, slice by slice, the slice's factor (gain * eta / L) * scale / ||grad||
    // (Algorithm 1) a broadcast leaf. A zero factor (a step failed on an asynchronous backend)
    // leaves the slice as it is, even where its gradient holds a NaN.
    using namespace expr;
    constexpr argument<0> w;
    constexpr argument<1> g;
    constexpr argument<2> factor;
    scalar_type* weights = net_.weight_data();
    backend::segmented_for_each(context, offsets_.data(), slice_count, Net::parameter_count,
                                map_segmented_expression<scalar_type, 2, 1>(
                                    where(factor > 0.0, w - factor * g, w),
                                    {weights, net_.gradient_data()}, {factors_.data()}, weights));
    return backend::read_result(context, &scalars_.data()->eta);
  }

  /// G of the last step (Definition 11).
  double gradient_summary() const { return read_scalars().gradient_summary; }
  /// eta of the last step, the automatic learning rate (Theorem 2).
  double automatic_learning_rate() const { return read_scalars().eta; }
  double learning_rate() const { return read_scalars().eta; }
  /// Where the backend keeps eta of the last step (for per-step metrics that stay on a device).
  const double* learning_rate_location() const { return &scalars_.data()->eta; }
  /// ||grad_k||_F of the last step (of the whole tensor, for a convolution too).
  std::array<double, depth> gradient_norms() const {
    std::array<double, depth> norms{};
    backend::download(net_.context(), weight_norms_.data(), depth, norms.data());
    backend::synchronize(net_.context());
    return norms;
  }
  /// The Frobenius norm of slice s of grad_k in the last step (s = 0 for a Dense layer).
  double slice_gradient_norm(std::size_t k, std::size_t s) const {
    if (k >= depth || s >= Net::weight_slices[k])
      throw std::out_of_range("agd::AGD::slice_gradient_norm: no slice " + std::to_string(s) +
                              " of weight " + std::to_string(k));
    double norm = 0;
    backend::download(net_.context(), slice_norms_.data() + Net::first_slice[k] + s, 1, &norm);
    backend::synchronize(net_.context());
    return norm;
  }
  /// Steps taken (counted where the steps run).
  std::uint64_t steps() const { return std::uint64_t(read_scalars().steps); }
  const agd_options& options() const { return options_; }
  std::string name() const { return "agd"; }
  /// AGD keeps no per-weight state, and its update does not depend on the step count.
  static constexpr std::size_t state_bytes() { return 0; }
  agd::state_tensors<scalar_type> state_tensors() { return {}; }
  agd::state_tensors<const scalar_type> state_tensors() const { return {}; }
  static constexpr bool steps_are_state = false;

 private:
  agd_scalars read_scalars() const {
    agd_scalars host;
    backend::download(net_.context(), scalars_.data(), 1, &host);
    backend::synchronize(net_.context());
    return host;
  }

  template <class T>
  using buffer = typename backend::template buffer<T>;

  Net& net_;
  agd_options options_;
  buffer<std::uint64_t> offsets_;
  buffer<double> scales_;
  buffer<std::uint32_t> owners_;
  buffer<double> squared_norms_;
  buffer<double> slice_norms_;
  buffer<double> weight_norms_;
  buffer<scalar_type> factors_;
  buffer<agd_scalars> scalars_;
};

}  // namespace agd
