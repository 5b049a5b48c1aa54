// The optimiser concept shared by AGD and the baselines: constructed from a network (which it
// initialises the way the paper does for it), step() applies one update from the gradients the
// network holds and returns the learning rate it used (AGD's eta, or the baseline's fixed lr).
#pragma once

#include <concepts>
#include <cstddef>
#include <string>

#include "agd/core/errors.hpp"

namespace agd {

template <class O>
concept Optimizer = requires(O o, const O co) {
  { o.step() } -> std::convertible_to<double>;
  { co.learning_rate() } -> std::convertible_to<double>;
  { co.name() } -> std::convertible_to<std::string>;
  { co.state_bytes() } -> std::convertible_to<std::size_t>;
};

namespace detail {
/// Throws agd::non_finite_error naming the first layer whose gradient holds a NaN or Inf.
template <class Net>
void check_gradients_finite(const Net& net, const char* where) {
  for (std::size_t k = 0; k < Net::depth; ++k)
    if (!net.gradient(k).allFinite())
      throw non_finite_error(std::string(where) + ": the gradient of " + Net::describe_weight(k) +
                             " contains NaN or Inf; no weight was changed. Check the inputs, the "
                             "loss and the layer's backward pass.");
}
}  // namespace detail

}  // namespace agd
