// What the baseline optimisers (Adam, SGD) keep besides their own moments: the tensor offsets
// and per-tensor norms of the non-finite check, the learning rate where the backend can read
// it, and the step's scalars (optim/agd_math.hpp's baseline_scalars: the step count and the
// bias corrections). Written once here so that each optimiser holds only its own update.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "agd/core/elementwise.hpp"
#include "agd/optim/agd_math.hpp"
#include "agd/optim/optimizer.hpp"

namespace agd::detail {

template <class Net>
class baseline_state {
 public:
  using scalar_type = typename Net::scalar_type;
  using backend = typename Net::backend_type;
  template <class T>
  using buffer = typename backend::template buffer<T>;

  baseline_state(Net& net, double learning_rate) : net_(net) {
    auto& context = net_.context();
    tensor_offsets_.resize(Net::depth + 1);
    backend::upload(context, Net::tensor_offsets.data(), Net::depth + 1, tensor_offsets_.data());
    norms_.resize(Net::depth);
    learning_rate_.resize(1);
    backend::upload(context, &learning_rate, 1, learning_rate_.data());
    scalars_.resize(1);
    backend::synchronize(context);
  }

  /// Throws agd::non_finite_error (on CUDA, when a result is next read) if a gradient holds a
  /// NaN or an Inf, before the update touches any weight.
  void check_gradients(const char* where) {
    check_gradients_finite(net_, tensor_offsets_.data(), norms_.data(), where);
  }

  baseline_scalars* scalars() { return scalars_.data(); }
  const double* learning_rate_location() const { return learning_rate_.data(); }

  /// Steps taken (kept where the steps run).
  std::uint64_t steps() const {
    baseline_scalars host;
    backend::download(net_.context(), scalars_.data(), 1, &host);
    backend::synchronize(net_.context());
    return std::uint64_t(host.steps);
  }
  void set_steps(std::uint64_t steps) {
    const baseline_scalars host{.steps = double(steps)};
    backend::upload(net_.context(), &host, 1, scalars_.data());
    backend::synchronize(net_.context());
  }

  /// Tensor k of a state buffer laid out as the weights (a moment, a velocity), on a backend
  /// whose memory is the host's. `where` names the caller for the message of a k out of range.
  static auto tensor(scalar_type* flat, std::size_t k,
                     const char* where) requires(backend::host_memory) {
    if (k >= Net::depth)
      throw std::out_of_range(std::string(where) + ": no tensor " + std::to_string(k) +
                              "; the network has " + std::to_string(Net::depth) +
                              " weight tensors, 0 to " + std::to_string(Net::depth - 1));
    return Eigen::Map<matrix<scalar_type>>(flat + Net::weight_offsets[k],
                                           Eigen::Index(Net::weight_rows[k]),
                                           Eigen::Index(Net::weight_cols[k]));
  }

 private:
  Net& net_;
  buffer<std::uint64_t> tensor_offsets_;
  buffer<double> norms_;
  buffer<double> learning_rate_;
  buffer<baseline_scalars> scalars_;
};

}  // namespace agd::detail
