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
        for (std::size_t s = 0; s < Net::weight_slices[k]; ++s)
          partial_squared_norms_[thread][slice_offsets[k] + s] =
              static_cast<double>(part(net_.gradient(k), k, s, thread, threads).squaredNorm());
      });
    });
    // Gradient summary, Definition 11: G = (1/L) sum_k sqrt(d_k/d_{k-1}) ||grad_k||_F. For a
    // convolution Appendix B sums the norms of its K*K slices, scaled by sqrt(out/in)/sqrt(K*K).
    double summary = 0;
    hana::for_each(weights, [&](auto k) {
      double weight_squared = 0, slice_norm_sum = 0;
      for (std::size_t s = 0; s < Net::weight_slices[k]; ++s) {
        double squared = 0;
        for (unsigned t = 0; t < pool.size(); ++t)
          squared += partial_squared_norms_[t][slice_offsets[k] + s];
        slice_norms_[slice_offsets[k] + s] = std::sqrt(squared);
        slice_norm_sum += std::sqrt(squared);
        weight_squared += squared;
      }
      gradient_norms_[k] = std::sqrt(weight_squared);
      // A NaN or Inf anywhere in the gradient makes its norm non-finite: stop before the update.
      if (!std::isfinite(gradient_norms_[k]))
        throw non_finite_error("agd::AGD::step: the gradient of " + Net::describe_weight(k) +
                               " contains NaN or Inf (its norm is " +
                               std::to_string(gradient_norms_[k]) +
                               "); no weight was changed. Check the inputs, the loss and the "
                               "layer's backward pass.");
      summary += Net::agd_scales[k] * slice_norm_sum;
    });
    gradient_summary_ = summary / double(depth);
    // Theorem 2: eta = log((1 + sqrt(1 + 4G)) / 2).
    eta_ = std::log(0.5 * (1.0 + std::sqrt(1.0 + 4.0 * gradient_summary_)));
    // Theorem 2: W_k -= (eta/L) sqrt(d_k/d_{k-1}) grad_k / ||grad_k||_F, slice by slice for a
    // convolution. A slice whose gradient is exactly zero has no direction to move in and is
    // left unchanged.
    for (std::size_t k = 0; k < depth; ++k)
      for (std::size_t s = 0; s < Net::weight_slices[k]; ++s) {
        const double norm = slice_norms_[slice_offsets[k] + s];
        factors_[slice_offsets[k] + s] =
            norm > 0 ? scalar_type(options_.gain * eta_ / double(depth) * Net::agd_scales[k] / norm)
                     : scalar_type(0);
      }
    pool.run([&](unsigned thread, unsigned threads) {
      hana::for_each(weights, [&](auto k) {
        for (std::size_t s = 0; s < Net::weight_slices[k]; ++s) {
          const scalar_type factor = factors_[slice_offsets[k] + s];
          if (factor != scalar_type(0))
            part(net_.weight(k), k, s, thread, threads) -=
                factor * part(net_.gradient(k), k, s, thread, threads);
        }
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
  /// ||grad_k||_F of the last step (of the whole tensor, for a convolution too).
  const std::array<double, depth>& gradient_norms() const { return gradient_norms_; }
  /// The Frobenius norm of slice s of grad_k in the last step (s = 0 for a Dense layer).
  double slice_gradient_norm(std::size_t k, std::size_t s) const {
    return slice_norms_.at(slice_offsets.at(k) + s);
  }
  std::uint64_t steps() const { return steps_; }
  const agd_options& options() const { return options_; }
  std::string name() const { return "agd"; }
  /// AGD keeps no per-weight state.
  static constexpr std::size_t state_bytes() { return 0; }

 private:
  /// Where weight k's slices start in the per-slice arrays.
  static constexpr std::array<std::size_t, depth + 1> slice_offsets = [] {
    std::array<std::size_t, depth + 1> offsets{};
    for (std::size_t k = 0; k < depth; ++k) offsets[k + 1] = offsets[k] + Net::weight_slices[k];
    return offsets;
  }();
  static constexpr std::size_t slice_count = slice_offsets[depth];

  /// Thread `thread`'s contiguous part of slice s of weight k, as a vector. A slice is a
  /// contiguous block of columns (layers/conv2d.hpp); a Dense weight is one slice.
  template <class M>
  static auto part(M& m, std::size_t k, std::size_t s, unsigned thread, unsigned threads) {
    const Eigen::Index size = m.size() / Eigen::Index(Net::weight_slices[k]);
    const auto [first, count] = split_range(size, thread, threads, 16);
    using vector = Eigen::Matrix<scalar_type, Eigen::Dynamic, 1>;
    using map =
        std::conditional_t<std::is_const_v<M>, Eigen::Map<const vector>, Eigen::Map<vector>>;
    return map(m.data() + Eigen::Index(s) * size + first, count);
  }

  Net& net_;
  agd_options options_;
  std::array<std::array<double, slice_count>, thread_pool::max_threads> partial_squared_norms_{};
  std::array<double, slice_count> slice_norms_{};
  std::array<scalar_type, slice_count> factors_{};
  std::array<double, depth> gradient_norms_{};
  double gradient_summary_ = 0;
  double eta_ = 0;
  std::uint64_t steps_ = 0;
};

}  // namespace agd
