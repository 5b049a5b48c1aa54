// The optimiser concept shared by AGD and the baselines: constructed from a network (which it
// initialises the way the paper does for it), step() applies one update from the gradients the
// network holds and returns the learning rate it used (AGD's eta, or the baseline's fixed lr).
#pragma once

#include <concepts>
#include <cstddef>
#include <string>

namespace agd {

template <class O>
concept Optimizer = requires(O o, const O co) {
  { o.step() } -> std::convertible_to<double>;
  { co.learning_rate() } -> std::convertible_to<double>;
  { co.name() } -> std::convertible_to<std::string>;
  { co.state_bytes() } -> std::convertible_to<std::size_t>;
};

}  // namespace agd
