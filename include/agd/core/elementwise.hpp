// The element-wise pass every backend runs for an expression (core/expression.hpp): for each
// index i, read element i of every input array, evaluate the expressions, write element i of
// every output array. One functor, so that the CPU's vectorised loop and CUDA's one-kernel
// Thrust transform evaluate exactly the same maths; it is trivially copyable (raw pointers and
// the expressions' constants), as a device kernel's argument must be.
#pragma once

#include <array>
#include <cstddef>

#include "agd/core/expression.hpp"
#include "agd/core/host_device.hpp"

namespace agd {

/// out[j][i] = expression j (in[0][i], ..., in[Inputs-1][i]) for the expressions of `Expressions`
/// (an expr::list). An output may be one of the inputs (an in-place update): every input is read
/// before any output is written.
template <class S, std::size_t Inputs, class Expressions>
struct expression_map {
  static_assert(Expressions::arity <= Inputs,
                "agd: an expression reads more arguments than the pass gives it");
  static_assert(Inputs > 0 && Expressions::size > 0);
  Expressions expressions;
  std::array<const S*, Inputs> inputs;
  std::array<S*, Expressions::size> outputs;

  AGD_HOST_DEVICE void operator()(std::size_t i) const {
    S values[Inputs];
    for (std::size_t k = 0; k < Inputs; ++k) values[k] = inputs[k][i];
    S results[Expressions::size];
    expressions(values, results);
    for (std::size_t k = 0; k < Expressions::size; ++k) outputs[k][i] = results[k];
  }
};

/// One expression over Inputs arrays into one output array.
template <class S, std::size_t Inputs, expr::expression E>
constexpr expression_map<S, Inputs, expr::list<E>> map_expression(
    E e, std::array<const S*, Inputs> inputs, S* output) {
  return {expr::list<E>(e), inputs, {output}};
}

/// An element-wise pass over a flat buffer cut into segments (AGD's slices) whose expressions
/// also read one value per segment: argument Inputs + k is broadcasts[k][s] for every element of
/// segment s, a broadcast leaf. A backend runs it with segmented_for_each, which calls
/// at_segment(s)(i): the plain pass of segment s, its broadcast values read once (kept in the
/// pass, where no output can alias them, so that a CPU loop keeps them in registers).
template <class S, std::size_t Inputs, std::size_t Broadcasts, class Expressions>
struct segmented_expression_map {
  static_assert(Expressions::arity <= Inputs + Broadcasts,
                "agd: an expression reads more arguments than the pass gives it");
  static_assert(Inputs > 0 && Broadcasts > 0 && Expressions::size > 0);
  Expressions expressions;
  std::array<const S*, Inputs> inputs;
  std::array<const S*, Broadcasts> broadcasts;
  std::array<S*, Expressions::size> outputs;

  struct segment_pass {
    Expressions expressions;
    std::array<const S*, Inputs> inputs;
    std::array<S, Broadcasts> broadcast_values;
    std::array<S*, Expressions::size> outputs;
    AGD_HOST_DEVICE void operator()(std::size_t i) const {
      S values[Inputs + Broadcasts];
      for (std::size_t k = 0; k < Inputs; ++k) values[k] = inputs[k][i];
      for (std::size_t k = 0; k < Broadcasts; ++k) values[Inputs + k] = broadcast_values[k];
      S results[Expressions::size];
      expressions(values, results);
      for (std::size_t k = 0; k < Expressions::size; ++k) outputs[k][i] = results[k];
    }
  };
  AGD_HOST_DEVICE segment_pass at_segment(std::size_t segment) const {
    segment_pass pass{expressions, inputs, {}, outputs};
    for (std::size_t k = 0; k < Broadcasts; ++k) pass.broadcast_values[k] = broadcasts[k][segment];
    return pass;
  }
};

/// One expression over Inputs arrays and Broadcasts per-segment arrays into one output array.
template <class S, std::size_t Inputs, std::size_t Broadcasts, expr::expression E>
constexpr segmented_expression_map<S, Inputs, Broadcasts, expr::list<E>> map_segmented_expression(
    E e, std::array<const S*, Inputs> inputs, std::array<const S*, Broadcasts> broadcasts,
    S* output) {
  return {expr::list<E>(e), inputs, broadcasts, {output}};
}

}  // namespace agd
