// Adam with torch.optim.Adam's defaults and update (no weight decay, no amsgrad):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   W -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// A baseline for the paper's comparisons, usually initialised with PyTorch's default
// Kaiming-uniform (give it a seed). The update is one expression (core/expression.hpp) over the
// flat weight, gradient and moment buffers: one fused pass on every backend.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "agd/core/elementwise.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/matrix.hpp"
#include "agd/init/kaiming_uniform.hpp"
#include "agd/optim/baseline_state.hpp"
#include "agd/optim/optimizer.hpp"

namespace agd {

struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  /// With a seed, (re)initialise the network as PyTorch's nn.Linear does (Kaiming-uniform);
  /// without one, keep its weights.
  std::optional<std::uint64_t> seed = std::nullopt;

  /// Calls f(name, value) for every option: what data-parallel ranks compare before training
  /// (agd::train::fit), so that one rank with another learning rate cannot drift apart silently.
  template <class F>
  void for_each(F&& f) const {
    f("lr", lr);
    f("beta1", beta1);
    f("beta2", beta2);
    f("eps", eps);
    f("seed", seed);
  }
};

template <class Net>
class Adam {
 public:
  using scalar_type = typename Net::scalar_type;
  using backend = typename Net::backend_type;

  explicit Adam(Net& net, adam_options options = {})
      : net_(net), options_(validated(options, net)), state_(net, options_.lr) {
    first_moment_.resize(Net::parameter_count);
    second_moment_.resize(Net::parameter_count);
  }

  /// One Adam step; returns the learning rate. A NaN or Inf in a gradient throws
  /// agd::non_finite_error before any weight changes (on CUDA, when a result is next read).
  double step() {
    state_.check_gradients("agd::Adam::step");
    auto& context = net_.context();
    baseline_scalars* scalars = state_.scalars();
    backend::single(context, adam_step_scalars{scalars, options_.lr, options_.beta1, options_.beta2,
                                               backend::status_pointer(context)});
    using namespace expr;
    constexpr argument<0> w;
    constexpr argument<1> g;
    constexpr argument<2> m;
    constexpr argument<3> v;
    const parameter step_size(&scalars->step_size);
    const parameter inverse_sqrt_bc2(&scalars->inverse_sqrt_bc2);
    const auto new_m = options_.beta1 * m + (1.0 - options_.beta1) * g;
    const auto new_v = options_.beta2 * v + (1.0 - options_.beta2) * square(g);
    const auto new_w = w - step_size * new_m / (sqrt(new_v) * inverse_sqrt_bc2 + options_.eps);
    scalar_type* weights = net_.weight_data();
    detail::apply_update(
        net_, expression_map<scalar_type, 4, decltype(make_list(new_w, new_m, new_v))>{
                  make_list(new_w, new_m, new_v),
                  {weights, net_.gradient_data(), first_moment_.data(), second_moment_.data()},
                  {weights, first_moment_.data(), second_moment_.data()}});
    return options_.lr;
  }

  double learning_rate() const { return options_.lr; }
  const double* learning_rate_location() const { return state_.learning_rate_location(); }
  std::string name() const { return "adam"; }
  const adam_options& options() const { return options_; }
  /// Two moments per weight.
  static constexpr std::size_t state_bytes() {
    return 2 * Net::parameter_count * sizeof(scalar_type);
  }
  /// The state (optim/optimizer.hpp): the moments, in the flat layout of the weights (backend
  /// memory), and the number of steps taken, which sets the bias corrections.
  agd::state_tensors<scalar_type> state_tensors() {
    return {{"first_moment", first_moment_.data()}, {"second_moment", second_moment_.data()}};
  }
  agd::state_tensors<const scalar_type> state_tensors() const {
    return {{"first_moment", first_moment_.data()}, {"second_moment", second_moment_.data()}};
  }
  static constexpr bool steps_are_state = true;
  /// Tensor k of first moment (in the layout of weight k), on a backend whose memory is
  /// the host's.
  auto first_moment(std::size_t k) requires(backend::host_memory) {
    return detail::baseline_state<Net>::tensor(first_moment_.data(), k, "agd::Adam::first_moment");
  }
  /// Tensor k of the second moment (in the layout of weight k), on a backend whose memory is
  /// the host's.
  auto second_moment(std::size_t k) requires(backend::host_memory) {
    return detail::baseline_state<Net>::tensor(second_moment_.data(), k,
                                               "agd::Adam::second_moment");
  }
  /// Steps taken (kept where the steps run).
  std::uint64_t steps() const { return state_.steps(); }
  void set_steps(std::uint64_t steps) { state_.set_steps(steps); }

 private:
  template <class T>
  using buffer = typename backend::template buffer<T>;

  /// Checks the options and applies the seed, before any buffer is made.
  static adam_options validated(const adam_options& options, Net& net) {
    detail::require_positive_option("agd::Adam", "the learning rate", options.lr);
    detail::require_fraction_option("agd::Adam", "beta1", options.beta1);
    detail::require_fraction_option("agd::Adam", "beta2", options.beta2);
    detail::require_positive_option("agd::Adam", "eps", options.eps);
    if (options.seed) init::kaiming_uniform(net, *options.seed);
    return options;
  }

  Net& net_;
  adam_options options_;
  detail::baseline_state<Net> state_;
  buffer<scalar_type> first_moment_;
  buffer<scalar_type> second_moment_;
};

}  // namespace agd
