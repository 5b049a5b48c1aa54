// Stochastic gradient descent with optional momentum, as torch.optim.SGD (dampening 0, no
// Nesterov, no weight decay): buf = momentum * buf + grad; W -= lr * buf. A baseline for the
// paper's comparisons, usually initialised with PyTorch's default Kaiming-uniform like the
// paper's runs (give it a seed). The update is one expression over the flat buffers.
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

struct sgd_options {
  double lr = 0.1;
  double momentum = 0.0;
  /// With a seed, (re)initialise the network as PyTorch's nn.Linear does (Kaiming-uniform);
  /// without one, keep its weights.
  std::optional<std::uint64_t> seed = std::nullopt;

  /// Calls f(name, value) for every option: what data-parallel ranks compare before training
  /// (agd::train::fit), so that one rank with another learning rate cannot drift apart silently.
  template <class F>
  void for_each(F&& f) const {
    f("lr", lr);
    f("momentum", momentum);
    f("seed", seed);
  }
};

template <class Net>
class SGD {
 public:
  using scalar_type = typename Net::scalar_type;
  using backend = typename Net::backend_type;

  explicit SGD(Net& net, sgd_options options = {})
      : net_(net), options_(validated(options, net)), state_(net, options_.lr) {
    if (options_.momentum > 0) velocity_.resize(Net::parameter_count);
  }

  /// One SGD step; returns the learning rate. A NaN or Inf in a gradient throws
  /// agd::non_finite_error before any weight changes (on CUDA, when a result is next read).
  double step() {
    state_.check_gradients("agd::SGD::step");
    auto& context = net_.context();
    baseline_scalars* scalars = state_.scalars();
    backend::single(context, sgd_step_scalars{scalars, options_.lr, options_.momentum,
                                              backend::status_pointer(context)});
    using namespace expr;
    constexpr argument<0> w;
    constexpr argument<1> g;
    constexpr argument<2> buf;
    scalar_type* weights = net_.weight_data();
    const scalar_type* gradients = net_.gradient_data();
    if (options_.momentum > 0) {
      const auto new_buf = parameter(&scalars->momentum) * buf + g;
      const auto new_w = w - options_.lr * new_buf;
      detail::apply_update(net_,
                           expression_map<scalar_type, 3, decltype(make_list(new_w, new_buf))>{
                               make_list(new_w, new_buf),
                               {weights, gradients, velocity_.data()},
                               {weights, velocity_.data()}});
    } else {
      detail::apply_update(
          net_, map_expression<scalar_type, 2>(w - options_.lr * g, {weights, gradients}, weights));
    }
    return options_.lr;
  }

  double learning_rate() const { return options_.lr; }
  const double* learning_rate_location() const { return state_.learning_rate_location(); }
  std::string name() const { return "sgd"; }
  std::size_t state_bytes() const {
    return options_.momentum > 0 ? Net::parameter_count * sizeof(scalar_type) : 0;
  }
  const sgd_options& options() const { return options_; }
  /// The state (optim/optimizer.hpp): the momentum buffer in the flat layout of the weights
  /// (none when momentum is 0), and the number of steps taken (the first step starts the buffer
  /// at the gradient).
  agd::state_tensors<scalar_type> state_tensors() {
    if (!(options_.momentum > 0)) return {};
    return {{"velocity", velocity_.data()}};
  }
  agd::state_tensors<const scalar_type> state_tensors() const {
    if (!(options_.momentum > 0)) return {};
    return {{"velocity", velocity_.data()}};
  }
  static constexpr bool steps_are_state = true;
  /// Tensor k of velocity (in the layout of weight k), on a backend whose memory is
  /// the host's.
  auto velocity(std::size_t k) requires(backend::host_memory) {
    // Without momentum there is no buffer: a view of it would point at nothing.
    if (!(options_.momentum > 0))
      throw std::logic_error(
          "agd::SGD::velocity: momentum is 0, so SGD keeps no velocity; "
          "construct it with a momentum > 0 to have one");
    return detail::baseline_state<Net>::tensor(velocity_.data(), k, "agd::SGD::velocity");
  }
  /// Steps taken (kept where the steps run).
  std::uint64_t steps() const { return state_.steps(); }
  void set_steps(std::uint64_t steps) { state_.set_steps(steps); }

 private:
  template <class T>
  using buffer = typename backend::template buffer<T>;

  /// Checks the options and applies the seed, before any buffer is made.
  static sgd_options validated(const sgd_options& options, Net& net) {
    detail::require_positive_option("agd::SGD", "the learning rate", options.lr);
    detail::require_fraction_option("agd::SGD", "momentum", options.momentum);
    if (options.seed) init::kaiming_uniform(net, *options.seed);
    return options;
  }

  Net& net_;
  sgd_options options_;
  detail::baseline_state<Net> state_;
  buffer<scalar_type> velocity_;
};

}  // namespace agd
