// Expression templates for the element-wise maths. An activation, its derivative, a loss
// gradient or an optimiser's update is written once as a small typed expression, e.g.
//   using namespace agd::expr;
//   constexpr auto relu = max(x, 0.0) * gain;                 // forward
//   constexpr auto relu_derivative = where(x > 0.0, gain, 0.0);
// and every backend evaluates it element by element in one fused pass, with no temporaries: a
// vectorised loop on the CPU, one Thrust transform (one kernel) on CUDA. An expression is a
// literal type holding only its constants, so it can be a `static constexpr` member of a layer,
// built at run time from an optimiser's hyper-parameters, and copied into a device kernel.
//
// The leaves are the arguments `argument<I>` (the I-th input array's element; x, y and dy are
// names for the first three) and numbers (stored as double, converted to the scalar type S of
// the evaluation). Nodes evaluate with operator()(const S* values), `values` holding the element
// of every input; `arity` is how many inputs an expression reads.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "agd/core/host_device.hpp"

namespace agd::expr {

/// The base of every expression node; the operators below apply only to its descendants.
struct node {};

template <class E>
concept expression = std::derived_from<std::remove_cvref_t<E>, node>;
template <class T>
concept operand = expression<T> || std::is_arithmetic_v<std::remove_cvref_t<T>>;

/// The I-th input of the evaluation.
template <std::size_t I>
struct argument : node {
  static constexpr std::size_t arity = I + 1;
  template <class S>
  AGD_HOST_DEVICE constexpr S operator()(const S* values) const {
    return values[I];
  }
};

/// A number, kept in double and converted to the evaluation's scalar type.
struct constant : node {
  static constexpr std::size_t arity = 0;
  double value = 0;
  constexpr constant() = default;
  constexpr explicit constant(double v) : value(v) {}
  template <class S>
  AGD_HOST_DEVICE constexpr S operator()(const S*) const {
    return S(value);
  }
};

/// A number kept in memory (device memory on CUDA) and read at every evaluation: a scalar that a
/// step computes where it runs, such as Adam's bias corrections, so that the host need not know
/// it and a captured CUDA Graph does not freeze it.
struct parameter : node {
  static constexpr std::size_t arity = 0;
  const double* value = nullptr;
  constexpr explicit parameter(const double* v) : value(v) {}
  template <class S>
  AGD_HOST_DEVICE constexpr S operator()(const S*) const {
    return S(*value);
  }
};

/// Names of the arguments as the layers use them: an activation's input x, its output y and the
/// gradient dy of the loss with respect to that output.
inline constexpr argument<0> x{};
inline constexpr argument<1> y{};
inline constexpr argument<2> dy{};

template <class T>
constexpr auto as_expression(T value) {
  if constexpr (expression<T>)
    return value;
  else
    return constant(double(value));
}
template <class T>
using as_expression_t = decltype(as_expression(std::declval<T>()));

// Operations: each a stateless struct with a static apply.
struct plus {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr auto apply(A a, B b) {
    return a + b;
  }
};
struct minus {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr auto apply(A a, B b) {
    return a - b;
  }
};
struct times {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr auto apply(A a, B b) {
    return a * b;
  }
};
struct divide {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr auto apply(A a, B b) {
    return a / b;
  }
};
struct greater {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr bool apply(A a, B b) {
    return a > b;
  }
};
struct less {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr bool apply(A a, B b) {
    return a < b;
  }
};
struct greater_equal {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr bool apply(A a, B b) {
    return a >= b;
  }
};
struct less_equal {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr bool apply(A a, B b) {
    return a <= b;
  }
};
/// The larger of a and b; a NaN in `a` propagates (max(NaN, 0) is NaN), so that a ReLU does not
/// hide a NaN from the non-finite checks downstream.
struct maximum {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr auto apply(A a, B b) {
    return b > a ? b : a;
  }
};
struct minimum {
  template <class A, class B>
  AGD_HOST_DEVICE static constexpr auto apply(A a, B b) {
    return b < a ? b : a;
  }
};
struct negate {
  template <class A>
  AGD_HOST_DEVICE static constexpr auto apply(A a) {
    return -a;
  }
};
struct square_root {
  template <class A>
  AGD_HOST_DEVICE static auto apply(A a) {
    return math::sqrt(a);
  }
};
struct exponential {
  template <class A>
  AGD_HOST_DEVICE static auto apply(A a) {
    return math::exp(a);
  }
};
struct logarithm {
  template <class A>
  AGD_HOST_DEVICE static auto apply(A a) {
    return math::log(a);
  }
};
struct hyperbolic_tangent {
  template <class A>
  AGD_HOST_DEVICE static auto apply(A a) {
    return math::tanh(a);
  }
};
struct absolute {
  template <class A>
  AGD_HOST_DEVICE static constexpr auto apply(A a) {
    return a < A(0) ? -a : a;
  }
};

template <class Op, class A>
struct unary : node {
  static constexpr std::size_t arity = A::arity;
  A operand;
  constexpr explicit unary(A a) : operand(a) {}
  template <class S>
  AGD_HOST_DEVICE constexpr auto operator()(const S* values) const {
    return Op::apply(operand(values));
  }
};

template <class Op, class A, class B>
struct binary : node {
  static constexpr std::size_t arity = std::max(A::arity, B::arity);
  A left;
  B right;
  constexpr binary(A a, B b) : left(a), right(b) {}
  template <class S>
  AGD_HOST_DEVICE constexpr auto operator()(const S* values) const {
    return Op::apply(left(values), right(values));
  }
};

/// condition ? if_true : if_false, element by element.
template <class C, class T, class F>
struct select : node {
  static constexpr std::size_t arity = std::max({C::arity, T::arity, F::arity});
  C condition;
  T if_true;
  F if_false;
  constexpr select(C c, T t, F f) : condition(c), if_true(t), if_false(f) {}
  template <class S>
  AGD_HOST_DEVICE constexpr S operator()(const S* values) const {
    return condition(values) ? S(if_true(values)) : S(if_false(values));
  }
};

template <class Op, class A, class B>
constexpr auto make_binary(A a, B b) {
  return binary<Op, as_expression_t<A>, as_expression_t<B>>(as_expression(a), as_expression(b));
}

// The arithmetic and comparison operators, for an expression and an expression or a number.
#define AGD_EXPR_BINARY_OPERATOR(symbol, op)                                          \
  template <operand A, operand B>                                                     \
  requires(expression<A> || expression<B>) constexpr auto operator symbol(A a, B b) { \
    return make_binary<op>(a, b);                                                     \
  }
AGD_EXPR_BINARY_OPERATOR(+, plus)
AGD_EXPR_BINARY_OPERATOR(-, minus)
AGD_EXPR_BINARY_OPERATOR(*, times)
AGD_EXPR_BINARY_OPERATOR(/, divide)
AGD_EXPR_BINARY_OPERATOR(>, greater)
AGD_EXPR_BINARY_OPERATOR(<, less)
AGD_EXPR_BINARY_OPERATOR(>=, greater_equal)
AGD_EXPR_BINARY_OPERATOR(<=, less_equal)
#undef AGD_EXPR_BINARY_OPERATOR

template <expression A>
constexpr auto operator-(A a) {
  return unary<negate, A>(a);
}

template <operand A, operand B>
requires(expression<A> || expression<B>) constexpr auto max(A a, B b) {
  return make_binary<maximum>(a, b);
}
template <operand A, operand B>
requires(expression<A> || expression<B>) constexpr auto min(A a, B b) {
  return make_binary<minimum>(a, b);
}
template <expression A>
constexpr auto sqrt(A a) {
  return unary<square_root, A>(a);
}
template <expression A>
constexpr auto exp(A a) {
  return unary<exponential, A>(a);
}
template <expression A>
constexpr auto log(A a) {
  return unary<logarithm, A>(a);
}
template <expression A>
constexpr auto tanh(A a) {
  return unary<hyperbolic_tangent, A>(a);
}
template <expression A>
constexpr auto abs(A a) {
  return unary<absolute, A>(a);
}
template <expression A>
constexpr auto square(A a) {
  return a * a;
}
/// where(condition, a, b): a where the condition holds, b elsewhere.
template <expression C, operand T, operand F>
constexpr auto where(C c, T t, F f) {
  return select<C, as_expression_t<T>, as_expression_t<F>>(c, as_expression(t), as_expression(f));
}

/// A fixed list of expressions evaluated together on the same inputs: the fused multi-output
/// pass of an optimiser (e.g. Adam's new weight, first and second moment).
template <class... E>
struct list;
template <>
struct list<> {
  static constexpr std::size_t size = 0;
  static constexpr std::size_t arity = 0;
  constexpr list() = default;
  template <class S>
  AGD_HOST_DEVICE constexpr void operator()(const S*, S*) const {}
};
template <class E, class... Rest>
struct list<E, Rest...> {
  static constexpr std::size_t size = 1 + sizeof...(Rest);
  static constexpr std::size_t arity = std::max(E::arity, list<Rest...>::arity);
  E first;
  list<Rest...> rest;
  constexpr explicit list(E head, Rest... tail) : first(head), rest(tail...) {}
  /// Writes expression j's value into results[j].
  template <class S>
  AGD_HOST_DEVICE constexpr void operator()(const S* values, S* results) const {
    results[0] = S(first(values));
    rest(values, results + 1);
  }
};
template <expression... E>
constexpr list<E...> make_list(E... e) {
  return list<E...>(e...);
}

}  // namespace agd::expr
