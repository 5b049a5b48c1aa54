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
// backward_weights may get a block of the rows of dw (with the matching rows of dy), a block
// of its columns (with the matching rows of x) where the kernel declares
// `weight_gradient_by_columns`, or all of dw over a block of samples where it declares
// `weight_gradient_by_samples` (see below).
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
// Image layouts (core/view.hpp): a backend may keep image activations in a blocked channel
// layout (the CPU backend on oneDNN does), but only between layers whose kernels say they read
// and write it, with `static constexpr agd::layout_support layouts = ...`:
//   plain_only (the default)   every view it gets is CHW;
//   same_in_and_out            x and y (dx and dy) share one layout, any: element-wise layers,
//                              batch norm;
//   any                        x and y may each be CHW or blocked, as their views say (the
//                              convolutions, pooling, Input and Flatten, which convert).
// The network decides each activation's layout from these declarations at compile time and the
// backend's channel block at run time, so a kernel of one's own that declares nothing always
// sees CHW.
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

/// Which image layouts a kernel reads and writes (see the top of this file).
enum class layout_support { plain_only, same_in_and_out, any };

template <class Kernel>
constexpr layout_support layout_support_of() {
  if constexpr (requires { Kernel::layouts; })
    return Kernel::layouts;
  else
    return layout_support::plain_only;
}

/// A kernel whose weight gradient is best summed by each thread over its own block of samples
/// (into a partial dW, added up afterwards) rather than split by rows of dW: the CPU
/// convolution, whose rows would each need the patch matrices of the whole batch.
template <class Kernel>
constexpr bool weight_gradient_by_samples_of() {
  if constexpr (requires { Kernel::weight_gradient_by_samples; })
    return Kernel::weight_gradient_by_samples;
  else
    return false;
}

/// A kernel whose weight gradient is best split between threads by blocks of columns of dW
/// (each thread the whole of dY and its rows of x) rather than by rows: Dense, for which a
/// block of columns of dW is one contiguous block of memory, which the CPU backend's oneDNN
/// GEMM runs its fastest kernel on (a block of rows is strided).
template <class Kernel>
constexpr bool weight_gradient_by_columns_of() {
  if constexpr (requires { Kernel::weight_gradient_by_columns; })
    return Kernel::weight_gradient_by_columns;
  else
    return false;
}

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
