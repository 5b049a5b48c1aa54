// How agd::Sequential turns its template arguments into the list of layers it runs:
//   1. Residual<Block...> is flattened into residual_begin, Block..., residual_end (recursively);
//   2. the list is walked from the input shape (Input<C,H,W>, or the first layer's input size
//      as a flat vector), binding every shape-dependent layer (Conv2d, pooling, the residual
//      markers) to the shape it receives: `L::bind<shape>`, a layer of the uniform interface
//      with every size fixed. The shapes between layers come out as a constexpr array.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/core/shape_check.hpp"
#include "agd/network/residual.hpp"

namespace agd {

template <class Scalar, class Backend, class... Layers>
class basic_network;

namespace detail {

template <class... Ts>
struct type_list {};

template <class... Lists>
struct concat;
template <>
struct concat<> {
  using type = type_list<>;
};
template <class... A>
struct concat<type_list<A...>> {
  using type = type_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat<type_list<A...>, type_list<B...>, Rest...> {
  using type = typename concat<type_list<A..., B...>, Rest...>::type;
};

// Step 1: flatten residual blocks.
template <class L>
struct flatten_element {
  using type = type_list<L>;
};
template <class... Block>
struct flatten_element<Residual<Block...>> {
  using type = typename concat<type_list<residual_begin>, typename flatten_element<Block>::type...,
                               type_list<residual_end>>::type;
};
template <class Scalar, class Backend, class... Block>
struct flatten_element<Residual<basic_network<Scalar, Backend, Block...>>>
    : flatten_element<Residual<Block...>> {};

template <class... Elements>
using flattened_t = typename concat<typename flatten_element<Elements>::type...>::type;

// Step 2: bind to shapes.
template <tensor_shape... Shapes>
struct shape_stack {};

template <class L>
concept declares_output_shape = layer_traits<L>::shapes_output;
template <class L>
concept input_declaration = layer_traits<L>::declares_input;

/// The shape a bound layer produces from `in`: its own rule, else an element-wise layer keeps
/// the shape, else the output is a flat vector of output_size features.
template <class B>
constexpr tensor_shape output_shape_of(tensor_shape in) {
  if constexpr (declares_output_shape<B>)
    return B::output_shape(in);
  else if constexpr (B::input_size == any_size)
    return B::output_size(in.size()) == in.size() ? in : flat_shape(B::output_size(in.size()));
  else
    return flat_shape(B::output_size(in.size()));
}

template <class L, tensor_shape In>
struct bind_layer {
  using type = L;
};
template <shape_dependent_layer L, tensor_shape In>
struct bind_layer<L, In> {
  using type = typename L::template bind<In>;
};

/// Binds one element to its input shape and says what it leaves on the stack of open residual
/// blocks.
template <class L, tensor_shape In, class Stack>
struct bind_step {
  using bound = typename bind_layer<L, In>::type;
  using stack = Stack;
};
template <tensor_shape In, tensor_shape... Open>
struct bind_step<residual_begin, In, shape_stack<Open...>> {
  using bound = residual_begin::bind<In>;
  using stack = shape_stack<In, Open...>;
};
template <tensor_shape In, tensor_shape Skip, tensor_shape... Open>
struct bind_step<residual_end, In, shape_stack<Skip, Open...>> {
  using bound = residual_end_bound<Skip, In>;
  using stack = shape_stack<Open...>;
};

template <tensor_shape In, class Stack, class Bound, class... Rest>
struct resolve_from;
template <tensor_shape In, class Stack, class... Bound>
struct resolve_from<In, Stack, type_list<Bound...>> {
  using layers = type_list<Bound...>;
};
template <tensor_shape In, class Stack, class... Bound, class L, class... Rest>
struct resolve_from<In, Stack, type_list<Bound...>, L, Rest...> {
  using step = bind_step<L, In, Stack>;
  using layers =
      typename resolve_from<output_shape_of<typename step::bound>(In), typename step::stack,
                            type_list<Bound..., typename step::bound>, Rest...>::layers;
};

template <class First>
consteval bool fixes_input_shape() {
  if constexpr (input_declaration<First>)
    return true;
  else if constexpr (shape_dependent_layer<First>)
    return false;
  else
    return First::input_size != any_size;
}

template <class First>
struct first_element_must_fix_the_input_shape {
  static_assert(fixes_input_shape<First>(),
                "agd::Sequential: the first layer must fix the network's input shape. Start the "
                "list with agd::Input<C, H, W> (needed before a convolution, a pooling or a "
                "residual block) or with a layer such as agd::Dense<In, Out>, not an activation.");
  static constexpr tensor_shape shape = [] {
    if constexpr (input_declaration<First>)
      return First::shape;
    else if constexpr (fixes_input_shape<First>())
      return flat_shape(First::input_size);
    else
      return flat_shape(1);
  }();
};

template <class List>
struct resolve_list;
template <class First, class... Rest>
struct resolve_list<type_list<First, Rest...>> {
  static_assert(!(input_declaration<Rest> || ...),
                "agd::Sequential: agd::Input<C, H, W> may only be the first element of the list");
  static constexpr tensor_shape input_shape = first_element_must_fix_the_input_shape<First>::shape;
  using layers =
      typename resolve_from<input_shape, shape_stack<>, type_list<>, First, Rest...>::layers;
};

/// The bound layers of Sequential<Elements...>, as a type_list.
template <class... Elements>
using resolved_layers_t = typename resolve_list<flattened_t<Elements...>>::layers;

/// The input shape of every bound layer, and the network's output shape last.
template <class... Bound>
consteval auto shapes_of(tensor_shape input) {
  std::array<tensor_shape, sizeof...(Bound) + 1> shapes{};
  shapes[0] = input;
  std::size_t i = 0;
  ((shapes[i + 1] = output_shape_of<Bound>(shapes[i]), ++i), ...);
  return shapes;
}

}  // namespace detail
}  // namespace agd
