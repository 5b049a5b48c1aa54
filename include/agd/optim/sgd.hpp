// Stochastic gradient descent with optional momentum, as torch.optim.SGD (dampening 0, no
// Nesterov, no weight decay): buf = momentum * buf + grad; W -= lr * buf. A baseline for the
// paper's comparisons; initialises with PyTorch's default Kaiming-uniform like the paper's runs.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "agd/init/kaiming_uniform.hpp"
#include "agd/optim/optimizer.hpp"

namespace agd {

struct sgd_options {
  double lr = 0.1;
  double momentum = 0.0;
  std::uint64_t seed = 0;
  bool initialise = true;
};

template <class Net>
class SGD {
 public:
  using scalar_type = typename Net::scalar_type;

  explicit SGD(Net& net, sgd_options options = {}) : net_(net), options_(options) {
    if (!(options_.lr > 0)) throw std::invalid_argument("agd::SGD: the learning rate must be > 0");
    if (options_.momentum < 0 || options_.momentum >= 1)
      throw std::invalid_argument("agd::SGD: momentum must be in [0, 1)");
    if (options_.initialise) init::kaiming_uniform(net_, options_.seed);
    if (options_.momentum > 0)
      for (std::size_t k = 0; k < Net::depth; ++k)
        velocity_[k].setZero(net_.weight(k).rows(), net_.weight(k).cols());
  }

  double step() {
    detail::check_gradients_finite(net_, "agd::SGD::step");
    const auto lr = scalar_type(options_.lr);
    for (std::size_t k = 0; k < Net::depth; ++k) {
      if (options_.momentum > 0) {
        // PyTorch starts the buffer at the first gradient rather than at zero.
        if (steps_ == 0)
          velocity_[k] = net_.gradient(k);
        else
          velocity_[k] = scalar_type(options_.momentum) * velocity_[k] + net_.gradient(k);
        net_.weight(k) -= lr * velocity_[k];
      } else {
        net_.weight(k) -= lr * net_.gradient(k);
      }
    }
    ++steps_;
    return options_.lr;
  }

  double learning_rate() const { return options_.lr; }
  std::string name() const { return "sgd"; }
  std::size_t state_bytes() const {
    return options_.momentum > 0 ? Net::parameter_count * sizeof(scalar_type) : 0;
  }
  const sgd_options& options() const { return options_; }
  /// The state a checkpoint saves and restores (agd/io/checkpoint.hpp): the momentum buffer of
  /// weight k (empty when momentum is 0), and the number of steps taken (the first step starts
  /// the buffer at the gradient).
  typename Net::matrix_type& velocity(std::size_t k) { return velocity_.at(k); }
  const typename Net::matrix_type& velocity(std::size_t k) const { return velocity_.at(k); }
  std::uint64_t steps() const { return steps_; }
  void set_steps(std::uint64_t steps) { steps_ = steps; }

 private:
  Net& net_;
  sgd_options options_;
  std::array<typename Net::matrix_type, Net::depth> velocity_;
  std::uint64_t steps_ = 0;
};

}  // namespace agd
