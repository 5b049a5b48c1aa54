// Compile-time shape checking of a layer list. C++20's static_assert takes only a string
// literal, so the positions and sizes of a mismatch are carried in the name of the failing
// template, which compilers print next to the message. It reads as a sentence:
//
//   agd::shape_error::layer<3, agd::Dense<512, 10> >::expects_inputs<512>
//       ::but_layer<2, agd::Relu>::produces_outputs<256>
//
// Positions count every layer in the list from 1.
#pragma once

#include <array>
#include <cstddef>

#include "agd/core/layer.hpp"

namespace agd::shape_error {

template <std::size_t Position, class LayerType>
struct layer {
  template <std::size_t ExpectedInputs>
  struct expects_inputs {
    template <std::size_t PreviousPosition, class PreviousLayer>
    struct but_layer {
      template <std::size_t ProducedOutputs>
      struct produces_outputs {
        static_assert(ExpectedInputs == ProducedOutputs,
                      "agd::Sequential: a layer's input size differs from the output size of the "
                      "layer before it. The instantiation printed with it names both: "
                      "layer<position, type>::expects_inputs<n>::but_layer<position, type>"
                      "::produces_outputs<m>. Change one of the two sizes so that n == m.");
        static constexpr bool value = ExpectedInputs == ProducedOutputs;
      };
    };
  };
};

template <class FirstLayer>
struct first_layer_must_fix_the_input_size {
  static_assert(FirstLayer::input_size != any_size,
                "agd::Sequential: the first layer must fix the network's input size (start the "
                "list with a layer such as agd::Dense<In, Out>, not an activation).");
  static constexpr bool value = FirstLayer::input_size != any_size;
};

}  // namespace agd::shape_error
