// Automatic gradient descent: Algorithm 1 of Bernstein et al. (2023), as in their Appendix B.
// No learning rate, no schedule, no state.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include <boost/hana.hpp>

#include "agd/backend/eigen/threads.hpp"
#include "agd/core/errors.hpp"
#include "agd/init/orthogonal.hpp"

namespace agd {

struct agd_options {
  /// Multiplies every update (Appendix B's `gain`); the paper's results all use 1.
  double gain = 1.0;
  /// Seed of the orthogonal initialisation.
  std::uint64_t seed = 0;
  /// Initialise the network's weights (turn off to keep weights set by hand or loaded).
  bool initialise = true;
};

template <class Net>
class AGD {
 public:
  using scalar_type = typename Net::scalar_type;
  static constexpr std::size_t depth = Net::depth;

  explicit AGD(Net& net, agd_options options = {}) : net_(net), options_(options) {
    if (options_.initialise) init::orthogonal(net_, options_.seed);
  }

  /// One AGD step from the gradients held by the network; returns eta. Two parallel regions on
  /// the CPU pool: the gradient norms, then the update, each thread taking a slice of every
  /// weight tensor; the few scalar operations between them run on the calling thread.
  double step() {
    namespace hana = boost::hana;
    constexpr auto weights = hana::make_range(hana::size_c<0>, hana::size_c<depth>);
    thread_pool& pool = cpu_pool();
    pool.run([&](unsigned thread, unsigned threads) {
      hana::for_each(weights, [&](auto k) {
        partial_squared_norms_[thread][k] =
            static_cast<double>(slice(net_.gradient(k), thread, threads).squaredNorm());
      });
    });
    // Gradient summary, Definition 11: G = (1/L) sum_k sqrt(d_k/d_{k-1}) ||grad_k||_F.
    double summary = 0;
    hana::for_each(weights, [&](auto k) {
      double squared = 0;
      for (unsigned t = 0; t < pool.size(); ++t) squared += partial_squared_norms_[t][k];
      gradient_norms_[k] = std::sqrt(squared);
      // A NaN or Inf anywhere in the gradient makes its norm non-finite: stop before the update.
      if (!std::isfinite(gradient_norms_[k]))
        throw non_finite_error("agd::AGD::step: the gradient of " + Net::describe_weight(k) +
                               " contains NaN or Inf (its norm is " +
                               std::to_string(gradient_norms_[k]) +
                               "); no weight was changed. Check the inputs, the loss and the "
                               "layer's backward pass.");
      summary += Net::agd_scales[k] * gradient_norms_[k];
    });
    gradient_summary_ = summary / double(depth);
    // Theorem 2: eta = log((1 + sqrt(1 + 4G)) / 2).
    eta_ = std::log(0.5 * (1.0 + std::sqrt(1.0 + 4.0 * gradient_summary_)));
    // Theorem 2: W_k -= (eta/L) sqrt(d_k/d_{k-1}) grad_k / ||grad_k||_F. A layer whose gradient
    // is exactly zero has no direction to move in and is left unchanged.
    std::array<scalar_type, depth> factors{};
    hana::for_each(weights, [&](auto k) {
      factors[k] = gradient_norms_[k] > 0 ? scalar_type(options_.gain * eta_ / double(depth) *
                                                        Net::agd_scales[k] / gradient_norms_[k])
                                          : scalar_type(0);
    });
    pool.run([&](unsigned thread, unsigned threads) {
      hana::for_each(weights, [&](auto k) {
        if (factors[k] != scalar_type(0))
          slice(net_.weight(k), thread, threads) -=
              factors[k] * slice(net_.gradient(k), thread, threads);
      });
    });
    ++steps_;
    return eta_;
  }

  /// G of the last step (Definition 11).
  double gradient_summary() const { return gradient_summary_; }
  /// eta of the last step, the automatic learning rate (Theorem 2).
  double automatic_learning_rate() const { return eta_; }
  double learning_rate() const { return eta_; }
  /// ||grad_k||_F of the last step.
  const std::array<double, depth>& gradient_norms() const { return gradient_norms_; }
  std::uint64_t steps() const { return steps_; }
  const agd_options& options() const { return options_; }
  std::string name() const { return "agd"; }
  /// AGD keeps no per-weight state.
  static constexpr std::size_t state_bytes() { return 0; }

 private:
  /// Thread `thread`'s contiguous part of the elements of `m`, as a vector.
  template <class M>
  static auto slice(M& m, unsigned thread, unsigned threads) {
    const auto [first, count] = split_range(m.size(), thread, threads, 16);
    using vector = Eigen::Matrix<scalar_type, Eigen::Dynamic, 1>;
    using map =
        std::conditional_t<std::is_const_v<M>, Eigen::Map<const vector>, Eigen::Map<vector>>;
    return map(m.data() + first, count);
  }

  Net& net_;
  agd_options options_;
  std::array<std::array<double, depth>, thread_pool::max_threads> partial_squared_norms_{};
  std::array<double, depth> gradient_norms_{};
  double gradient_summary_ = 0;
  double eta_ = 0;
  std::uint64_t steps_ = 0;
};

}  // namespace agd
