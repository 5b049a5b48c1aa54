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

namespace agd::shape_error {

/// A layer that needs images (a convolution or a pooling) receives a shape it cannot take. The
/// failing instantiation names the layer, what it needs and the shape it was given, e.g.
///   agd::shape_error::in<agd::Conv2d<16, 32, 3> >::expects_channels<16>
///       ::but_the_input_is<8, 14, 14>
template <class LayerType>
struct in {
  template <std::size_t ExpectedChannels>
  struct expects_channels {
    template <std::size_t C, std::size_t H, std::size_t W>
    struct but_the_input_is {
      static_assert(ExpectedChannels == C,
                    "agd: a convolution's input channels differ from the channels the layer "
                    "before it produces. The instantiation printed with it names the layer, the "
                    "channels it expects and the C x H x W shape it receives.");
      static constexpr bool value = ExpectedChannels == C;
    };
  };
  template <std::size_t Kernel, std::size_t Stride>
  struct window_with_stride {
    template <std::size_t C, std::size_t H, std::size_t W>
    struct does_not_tile_the_input {
      static constexpr bool fits =
          H >= Kernel && W >= Kernel && (H - Kernel) % Stride == 0 && (W - Kernel) % Stride == 0;
      static_assert(fits,
                    "agd: a window (pooling or convolution) does not tile its input: it needs "
                    "(size - kernel) to be a multiple of the stride in both directions, with no "
                    "pixel left over. The instantiation printed with it names the layer, the "
                    "kernel, the stride and the C x H x W input.");
      static constexpr bool value = fits;
    };
  };
  template <std::size_t C, std::size_t H, std::size_t W>
  struct needs_an_image_but_the_input_is {
    static constexpr bool value = true;
  };
};

/// The stride s of a 1x1 convolution (no padding) that takes an H x W input to h x w, i.e.
/// (H - 1) / s + 1 == h and likewise for the width; 0 if there is none.
constexpr std::size_t projection_stride(std::size_t skip_h, std::size_t skip_w, std::size_t out_h,
                                        std::size_t out_w) {
  for (std::size_t s = 1; s <= skip_h && s <= skip_w; ++s)
    if ((skip_h - 1) / s + 1 == out_h && (skip_w - 1) / s + 1 == out_w) return s;
  return 0;
}

/// A residual block whose output shape a 1x1 strided projection of its input cannot produce.
template <std::size_t SkipC, std::size_t SkipH, std::size_t SkipW>
struct residual_input {
  template <std::size_t OutC, std::size_t OutH, std::size_t OutW>
  struct cannot_be_projected_onto_the_block_output {
    static constexpr bool fits = projection_stride(SkipH, SkipW, OutH, OutW) != 0;
    static_assert(fits,
                  "agd::Residual: the block's output shape cannot be matched by a 1x1 strided "
                  "projection of its input (the spatial size must shrink by an integer stride). "
                  "The instantiation printed with it names both C x H x W shapes.");
    static constexpr bool value = fits;
  };
};

}  // namespace agd::shape_error
