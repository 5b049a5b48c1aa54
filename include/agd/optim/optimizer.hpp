// The optimiser concept shared by AGD and the baselines: constructed from a network (which, given
// a seed, it initialises the way the paper does for it), step() applies one update from the
// gradients the network holds and returns the learning rate it used (AGD's eta, or the
// baseline's fixed lr) as the backend gives results: agd::read(optimizer.step()) is the number
// on every backend (on CUDA, AGD's eta is computed on the device and read only when asked for).
//
// Its state is declared, so that checkpoints (io/checkpoint.hpp) save and restore it and
// data-parallel training (distributed/data_parallel.hpp) checks that every rank starts with the
// same, without knowing the optimiser:
//   options().for_each(f)     calls f(name, value) for each of its options (compared between
//                             the ranks of a data-parallel run);
//   state_tensors()           the flat buffers it keeps per weight, each named (none for AGD);
//   steps()                   the steps it has taken;
//   steps_are_state           whether its update depends on steps() (Adam's bias correction,
//                             SGD's first momentum step): then set_steps(n) restores it, and a
//                             checkpoint saves it.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agd/core/errors.hpp"
#include "agd/core/result.hpp"
#include "agd/core/status.hpp"
#include "agd/optim/agd_math.hpp"

namespace agd {

/// One flat buffer of an optimiser's state: as many values as the network has parameters, in the
/// flat layout of its weights (backend memory). A checkpoint names its tensor k
/// "optimizer.<name>.k", shaped like weight k.
template <class Pointer>
struct state_tensor {
  std::string_view name;
  Pointer data;
};
template <class Scalar>
using state_tensors = std::vector<state_tensor<Scalar*>>;

namespace detail {
/// What options().for_each must accept: a visitor of (name, value of any type).
struct option_visitor {
  template <class T>
  void operator()(const char*, const T&) const {}
};
}  // namespace detail

template <class O>
concept Optimizer = requires(O o, const O co, std::uint64_t n) {
  { agd::read(o.step()) } -> std::convertible_to<double>;
  { co.learning_rate() } -> std::convertible_to<double>;
  { co.learning_rate_location() } -> std::convertible_to<const double*>;
  { co.name() } -> std::convertible_to<std::string>;
  { co.state_bytes() } -> std::convertible_to<std::size_t>;
  { o.state_tensors() } -> std::same_as<state_tensors<typename O::scalar_type>>;
  { co.state_tensors() } -> std::same_as<state_tensors<const typename O::scalar_type>>;
  co.options().for_each(detail::option_visitor{});
  { co.steps() } -> std::convertible_to<std::uint64_t>;
  { O::steps_are_state } -> std::convertible_to<bool>;
  requires !O::steps_are_state || requires {
    o.set_steps(n);
  };
};

namespace detail {

/// The per-weight squared norms of the gradients (in `norms`, backend memory, one per weight),
/// and the step marked failed if one is not finite; on a synchronous backend it throws
/// agd::non_finite_error at once, naming the layer, before any weight changes.
template <class Net>
void check_gradients_finite(Net& net, const std::uint64_t* tensor_offsets, double* norms,
                            const char* where) {
  using backend = typename Net::backend_type;
  auto& context = net.context();
  backend::segmented_squared_norms(context, net.gradient_data(), tensor_offsets, Net::depth, norms);
  backend::single(context,
                  gradient_finite_check{norms, Net::depth, backend::status_pointer(context)});
  if constexpr (!backend::asynchronous) net.check_status(where);
}

/// The checks of an optimiser's options when it is constructed: each throws
/// std::invalid_argument naming the optimiser, the option, what it must be and what it got
/// ("agd::Adam: beta1 must be in [0, 1), got 1").
inline void require_option(bool ok, const char* optimizer, const char* option, const char* must_be,
                           double value) {
  if (!ok)
    throw std::invalid_argument(std::string(optimizer) + ": " + option + " must be " + must_be +
                                ", got " + std::to_string(value));
}
inline void require_positive_option(const char* optimizer, const char* option, double value) {
  require_option(std::isfinite(value) && value > 0, optimizer, option, "a finite number > 0",
                 value);
}
inline void require_fraction_option(const char* optimizer, const char* option, double value) {
  require_option(value >= 0 && value < 1, optimizer, option, "in [0, 1)", value);
}

/// Skips an element-wise update when the step was marked failed (a device backend cannot
/// throw before it; the host learns of it when it next reads a result).
template <class F>
struct unless_failed {
  F update;
  const execution_status* status;
  AGD_HOST_DEVICE void operator()(std::size_t i) const {
    if (status->code == status_code::ok) update(i);
  }
};

/// The update pass of a baseline optimiser on the flat buffers: plain on a synchronous backend
/// (which has thrown already if the step failed), guarded by the status on an asynchronous one.
template <class Net, class F>
void apply_update(Net& net, const F& update) {
  using backend = typename Net::backend_type;
  if constexpr (backend::asynchronous)
    backend::for_each(net.context(), Net::parameter_count,
                      unless_failed<F>{update, backend::status_pointer(net.context())});
  else
    backend::for_each(net.context(), Net::parameter_count, update);
}

}  // namespace detail

}  // namespace agd
