// The customisation point between a layer's description (core/layer.hpp) and a backend:
// agd::layer_kernel<Layer, Backend> runs Layer on Backend. A layer runs on a backend because
// such a specialisation exists, never because of the members the layer happens to have; a
// network whose layer has no kernel for its backend does not compile, and the error names the
// layer, its position and the backend.
//
// A kernel is a struct of static functions on blocks of the network's buffers (core/view.hpp):
// x, y, dx, dy are (features x samples) column blocks, w and dw the weight matrix (or a block of
// its rows), `context` the backend's execution state (its stream and handles on CUDA) and
// `workspace` the scratch the kernel asked for with workspace_bytes<S>(samples):
//
//   layer without weights
//     forward(context, x, y, workspace)
//     backward(context, x, y, dy, dx, workspace)             dx = dLoss/dx from dy = dLoss/dy
//   layer with weights
//     forward(context, w, x, y, workspace)
//     backward_inputs(context, w, dy, dx, workspace)
//     backward_weights(context, x, dy, dw, workspace)        dw = sum over the samples
//
// The CPU backend calls them from several threads, each on its own block of samples (of whole
// channels for a layer that couples samples, and of rows of dw for backward_weights: row r of dw
// must depend only on rows `r * rows_per_weight_row ..` of dy, as for y = W x and a convolution
// as a GEMM), unless the kernel declares `static constexpr bool weight_gradient_by_samples =
// true`: then each thread gets all rows of dy for its own block of samples and a dw of its own
// (the network adds the threads' sums up; the CPU convolution does this, so that no two threads
// build the same patch matrix). The CUDA backend calls them once on the whole batch, on its
// stream.
//
// Kernels written once over the backend's primitives (a GEMM, an element-wise pass, a segmented
// sum) specialise layer_kernel for every backend at once: `template <class B> struct
// layer_kernel<Dense<In, Out>, B>`; element-wise activations need none at all
// (layers/activation.hpp).
#pragma once

#include <cstddef>

namespace agd {

/// The primary template: no kernel. Specialise it for a layer and a backend (or for a layer and
/// every backend) to make the layer run there.
template <class Layer, class Backend>
struct layer_kernel {
  using no_kernel = void;
};

template <class Layer, class Backend>
concept has_kernel = !requires {
  typename layer_kernel<Layer, Backend>::no_kernel;
};

/// Scratch a kernel needs for a block of `samples` samples, in bytes (0 if it declares none).
template <class Kernel, class S>
constexpr std::size_t workspace_bytes_of(std::size_t samples) {
  if constexpr (requires { Kernel::template workspace_bytes<S>(samples); })
    return Kernel::template workspace_bytes<S>(samples);
  else
    return 0;
}

namespace kernel_error {

/// A layer with no kernel for the network's backend. C++20's static_assert takes only a string
/// literal, so the failing instantiation carries the names:
///   agd::kernel_error::layer<3, my::Swish>::has_no_kernel_for_backend<agd::cuda::device>
template <std::size_t Position, class LayerType>
struct layer {
  template <class Backend>
  struct has_no_kernel_for_backend {
    static_assert(has_kernel<LayerType, Backend>,
                  "agd: a layer has no kernel for the network's backend. The instantiation "
                  "printed with it names the layer, its position (from 1) and the backend. Write "
                  "the layer as an agd::elementwise_activation (it then runs on every backend), "
                  "or specialise agd::layer_kernel<Layer, Backend> (docs/writing-a-layer.md).");
    static constexpr bool value = has_kernel<LayerType, Backend>;
  };
};

}  // namespace kernel_error
}  // namespace agd
