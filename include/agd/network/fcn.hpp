// agd::basic_fcn<Backend, In, Width, Out, Depth, Activation, Scalar>: the paper's fully-connected
// network (Definition 10) of Depth weight layers as a network type on Backend, so a 32-layer
// network need not be written out:
//   Dense<In,Width>, Act, Dense<Width,Width>, Act, ..., Dense<Width,Out>.
// agd::FCN<In, Width, Out, Depth, Activation> is it on the default (CPU) backend
// (<agd/sequential.hpp>).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "agd/layers/dense.hpp"
#include "agd/layers/relu.hpp"
#include "agd/network/sequential.hpp"

namespace agd {

namespace detail {
template <std::size_t In, std::size_t Width, std::size_t Out, std::size_t Depth, class Activation,
          std::size_t I>
using fcn_layer_t = std::conditional_t<
    Depth == 1, Dense<In, Out>,
    std::conditional_t<
        I % 2 == 1, Activation,
        std::conditional_t<
            I == 0, Dense<In, Width>,
            std::conditional_t<I == 2 * (Depth - 1), Dense<Width, Out>, Dense<Width, Width>>>>>;

template <class Backend, class Scalar, std::size_t In, std::size_t Width, std::size_t Out,
          std::size_t Depth, class Activation, class Indices>
struct fcn_builder;

template <class Backend, class Scalar, std::size_t In, std::size_t Width, std::size_t Out,
          std::size_t Depth, class Activation, std::size_t... I>
struct fcn_builder<Backend, Scalar, In, Width, Out, Depth, Activation, std::index_sequence<I...>> {
  using type = basic_network<Scalar, Backend, fcn_layer_t<In, Width, Out, Depth, Activation, I>...>;
};
}  // namespace detail

template <class Backend, std::size_t In, std::size_t Width, std::size_t Out, std::size_t Depth,
          class Activation = Sqrt2Relu, class Scalar = float>
using basic_fcn = typename detail::fcn_builder<Backend, Scalar, In, Width, Out, Depth, Activation,
                                               std::make_index_sequence<2 * Depth - 1>>::type;

}  // namespace agd
