// Adam with torch.optim.Adam's defaults and update (no weight decay, no amsgrad):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   W -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
// A baseline for the paper's comparisons; initialises with PyTorch's default Kaiming-uniform.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "agd/init/kaiming_uniform.hpp"
#include "agd/optim/optimizer.hpp"

namespace agd {

struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  std::uint64_t seed = 0;
  bool initialise = true;
};

template <class Net>
class Adam {
 public:
  using scalar_type = typename Net::scalar_type;

  explicit Adam(Net& net, adam_options options = {}) : net_(net), options_(options) {
    if (!(options_.lr > 0)) throw std::invalid_argument("agd::Adam: the learning rate must be > 0");
    if (options_.beta1 < 0 || options_.beta1 >= 1 || options_.beta2 < 0 || options_.beta2 >= 1)
      throw std::invalid_argument("agd::Adam: beta1 and beta2 must be in [0, 1)");
    if (options_.initialise) init::kaiming_uniform(net_, options_.seed);
    for (std::size_t k = 0; k < Net::depth; ++k) {
      first_moment_[k].setZero(net_.weight(k).rows(), net_.weight(k).cols());
      second_moment_[k].setZero(net_.weight(k).rows(), net_.weight(k).cols());
    }
  }

  double step() {
    detail::check_gradients_finite(net_, "agd::Adam::step");
    ++steps_;
    const double bias_correction1 = 1.0 - std::pow(options_.beta1, double(steps_));
    const double bias_correction2 = 1.0 - std::pow(options_.beta2, double(steps_));
    const auto b1 = scalar_type(options_.beta1), b2 = scalar_type(options_.beta2);
    const auto step_size = scalar_type(options_.lr / bias_correction1);
    const auto inverse_sqrt_bc2 = scalar_type(1.0 / std::sqrt(bias_correction2));
    const auto eps = scalar_type(options_.eps);
    for (std::size_t k = 0; k < Net::depth; ++k) {
      auto g = net_.gradient(k).array();
      auto m = first_moment_[k].array();
      auto v = second_moment_[k].array();
      m = b1 * m + (scalar_type(1) - b1) * g;
      v = b2 * v + (scalar_type(1) - b2) * g.square();
      net_.weight(k).array() -= step_size * m / (v.sqrt() * inverse_sqrt_bc2 + eps);
    }
    return options_.lr;
  }

  double learning_rate() const { return options_.lr; }
  std::string name() const { return "adam"; }
  /// Two moments per weight.
  static constexpr std::size_t state_bytes() {
    return 2 * Net::parameter_count * sizeof(scalar_type);
  }
  /// The state a checkpoint saves and restores (agd/io/checkpoint.hpp): the moments of weight
  /// k, and the number of steps taken, which sets the bias corrections.
  typename Net::matrix_type& first_moment(std::size_t k) { return first_moment_.at(k); }
  const typename Net::matrix_type& first_moment(std::size_t k) const { return first_moment_.at(k); }
  typename Net::matrix_type& second_moment(std::size_t k) { return second_moment_.at(k); }
  const typename Net::matrix_type& second_moment(std::size_t k) const {
    return second_moment_.at(k);
  }
  std::uint64_t steps() const { return steps_; }
  void set_steps(std::uint64_t steps) { steps_ = steps; }

 private:
  Net& net_;
  adam_options options_;
  std::array<typename Net::matrix_type, Net::depth> first_moment_;
  std::array<typename Net::matrix_type, Net::depth> second_moment_;
  std::uint64_t steps_ = 0;
};

}  // namespace agd
