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
// agd::LayerKernel states this interface; the network checks it and, where a function is missing,
// names it. Every kernel derives from agd::kernel_defaults, which declares the defaults of its
// optional members (plain layouts, dW split by rows, no workspace); a kernel redeclares what
// differs, and its declaration hides the default. backward_weights may get a block of the rows
// of dw (with the matching rows of dy), a block of its columns (with the matching rows of x)
// where the kernel declares `weight_gradient_by_columns = true`, or all of dw over a block of
// samples where it declares `weight_gradient_by_samples = true` (see below).
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
// sees CHW (kernel_defaults::layouts is plain_only).
//
// Kernels written once over the backend's primitives (a GEMM, an element-wise pass, a segmented
// sum) specialise layer_kernel for every backend at once: `template <class B> struct
// layer_kernel<Dense<In, Out>, B>`; element-wise activations need none at all
// (layers/activation.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "agd/core/layer.hpp"
#include "agd/core/view.hpp"

namespace agd {

/// Which image layouts a kernel reads and writes (see the top of this file).
enum class layout_support { plain_only, same_in_and_out, any };

/// The base of every kernel: the defaults of the optional declarations, so that the network
/// reads them from any kernel without asking whether it has them.
struct kernel_defaults {
  /// Every view the kernel gets is CHW.
  static constexpr layout_support layouts = layout_support::plain_only;
  /// A kernel whose weight gradient is best summed by each thread over its own block of samples
  /// (into a partial dW, added up afterwards) rather than split by rows of dW: the CPU
  /// convolution, whose rows would each need the patch matrices of the whole batch.
  static constexpr bool weight_gradient_by_samples = false;
  /// A kernel whose weight gradient is best split between threads by blocks of columns of dW
  /// (each thread the whole of dY and its rows of x) rather than by rows: Dense, for which a
  /// block of columns of dW is one contiguous block of memory, which the CPU backend's oneDNN
  /// GEMM runs its fastest kernel on (a block of rows is strided).
  static constexpr bool weight_gradient_by_columns = false;
  /// Scratch the kernel needs for a block of `samples` samples, in bytes.
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t) {
    return 0;
  }
};

/// The base of the primary template, which is no kernel.
struct missing_kernel {};

/// The primary template: no kernel. Specialise it for a layer and a backend (or for a layer and
/// every backend) to make the layer run there.
template <class Layer, class Backend>
struct layer_kernel : missing_kernel {};

template <class Layer, class Backend>
concept has_kernel = !std::derived_from<layer_kernel<Layer, Backend>, missing_kernel>;

/// The functions the network calls on a kernel, one concept each, with the arguments it passes
/// (see the top of this file); K is the kernel, B the backend, S the scalar type.
namespace kernel_interface {

template <class S>
using in = matrix_view<const S>;
template <class S>
using out = matrix_view<S>;

template <class K, class B, class S>
concept forward = requires(typename B::context& c, in<S> x, out<S> y, std::byte* ws) {
  K::template forward<S>(c, x, y, ws);
};
template <class K, class B, class S>
concept backward = requires(typename B::context& c, in<S> x, in<S> y, in<S> dy, out<S> dx,
                            std::byte* ws) {
  K::template backward<S>(c, x, y, dy, dx, ws);
};
template <class K, class B, class S>
concept weighted_forward = requires(typename B::context& c, in<S> w, in<S> x, out<S> y,
                                    std::byte* ws) {
  K::template forward<S>(c, w, x, y, ws);
};
template <class K, class B, class S>
concept backward_inputs = requires(typename B::context& c, in<S> w, in<S> dy, out<S> dx,
                                   std::byte* ws) {
  K::template backward_inputs<S>(c, w, dy, dx, ws);
};
template <class K, class B, class S>
concept backward_weights = requires(typename B::context& c, in<S> x, in<S> dy, out<S> dw,
                                    std::byte* ws) {
  K::template backward_weights<S>(c, x, dy, dw, ws);
};
/// The end of a residual block (network/residual.hpp): y from the block's output and the skip;
/// the skip's gradient; with a projection, its weights first.
template <class K, class B, class S>
concept residual_forward = requires(typename B::context& c, in<S> x, in<S> skip, out<S> y,
                                    std::byte* ws) {
  K::template forward<S>(c, x, skip, y, ws);
};
template <class K, class B, class S>
concept residual_backward = requires(typename B::context& c, in<S> dy, out<S> d_skip,
                                     std::byte* ws) {
  K::template backward_skip<S>(c, dy, d_skip, ws);
};
template <class K, class B, class S>
concept projected_forward = requires(typename B::context& c, in<S> w, in<S> x, in<S> skip, out<S> y,
                                     std::byte* ws) {
  K::template forward<S>(c, w, x, skip, y, ws);
};
template <class K, class B, class S>
concept projected_backward = requires(typename B::context& c, in<S> w, in<S> dy, out<S> d_skip,
                                      std::byte* ws) {
  K::template backward_skip<S>(c, w, dy, d_skip, ws);
};

/// Which of the functions above a kernel of Layer on B must have, and whether K has each (true
/// where it need not).
template <class K, class Layer, class B, class S>
struct check {
  static constexpr bool residual = layer_traits<Layer>::closes_residual;
  static constexpr bool weights = Layer::has_weights;
  static constexpr bool derives = std::derived_from<K, kernel_defaults>;
  static constexpr bool has_forward = residual || weights || forward<K, B, S>;
  static constexpr bool has_backward = residual || weights || backward<K, B, S>;
  static constexpr bool has_weighted_forward = residual || !weights || weighted_forward<K, B, S>;
  static constexpr bool has_backward_inputs = residual || !weights || backward_inputs<K, B, S>;
  static constexpr bool has_backward_weights = !weights || backward_weights<K, B, S>;
  static constexpr bool has_residual_forward = !residual || weights || residual_forward<K, B, S>;
  static constexpr bool has_residual_backward = !residual || weights || residual_backward<K, B, S>;
  static constexpr bool has_projected_forward = !residual || !weights || projected_forward<K, B, S>;
  static constexpr bool has_projected_backward =
      !residual || !weights || projected_backward<K, B, S>;
  static constexpr bool complete = derives && has_forward && has_backward && has_weighted_forward &&
                                   has_backward_inputs && has_backward_weights &&
                                   has_residual_forward && has_residual_backward &&
                                   has_projected_forward && has_projected_backward;
};

}  // namespace kernel_interface

/// layer_kernel<Layer, Backend> is a kernel the network can run for Layer in scalar type S: it
/// exists, derives from kernel_defaults and has every function of the top of this file.
template <class Layer, class Backend, class S = float>
concept LayerKernel = has_kernel<Layer, Backend> &&
    kernel_interface::check<layer_kernel<Layer, Backend>, Layer, Backend, S>::complete;

namespace kernel_error {

/// A layer with no kernel for the network's backend, or a kernel that lacks a function. C++20's
/// static_assert takes only a string literal, so the failing instantiation carries the names:
///   agd::kernel_error::layer<3, my::Swish>::has_no_kernel_for_backend<agd::cuda::device>
///   agd::kernel_error::layer<3, my::Swish>::kernel_for<agd::eigen::cpu, float>
/// and the literal names the missing function. The assertions test plain bools, not concepts, so
/// that the compiler prints the sentence and no diagnosis of the concept's requirements.
template <std::size_t Position, class LayerType>
struct layer {
  template <class Backend>
  struct has_no_kernel_for_backend {
    static constexpr bool value = has_kernel<LayerType, Backend>;
    static_assert(value,
                  "agd: a layer has no kernel for the network's backend. The instantiation "
                  "printed with it names the layer, its position (from 1) and the backend. Write "
                  "the layer as an agd::elementwise_activation (it then runs on every backend), "
                  "or specialise agd::layer_kernel<Layer, Backend> (docs/writing-a-layer.md).");
  };

  /// One static_assert per missing function. Instantiated only for a layer that has a kernel;
  /// `value` says whether the network may call it.
  template <class Backend, class S>
  struct kernel_for {
    using check = kernel_interface::check<layer_kernel<LayerType, Backend>, LayerType, Backend, S>;
    static_assert(check::derives,
                  "agd: the layer's kernel does not derive from agd::kernel_defaults, which "
                  "declares the defaults of its optional members (docs/writing-a-layer.md)");
    static_assert(check::has_forward,
                  "agd: the layer's kernel has no forward(context, x, y, workspace), a template "
                  "on the scalar type (core/kernel.hpp)");
    static_assert(check::has_backward,
                  "agd: the layer's kernel has no backward(context, x, y, dy, dx, workspace), a "
                  "template on the scalar type (core/kernel.hpp)");
    static_assert(check::has_weighted_forward,
                  "agd: the layer's kernel has no forward(context, w, x, y, workspace), a template "
                  "on the scalar type (core/kernel.hpp)");
    static_assert(check::has_backward_inputs,
                  "agd: the layer's kernel has no backward_inputs(context, w, dy, dx, workspace), "
                  "a template on the scalar type (core/kernel.hpp)");
    static_assert(check::has_backward_weights,
                  "agd: the layer's kernel has no backward_weights(context, x, dy, dw, "
                  "workspace), a template on the scalar type (core/kernel.hpp)");
    static_assert(check::has_residual_forward && check::has_projected_forward,
                  "agd: the kernel of a residual block's end has no forward(context, [w,] x, "
                  "skip, y, workspace)");
    static_assert(check::has_residual_backward && check::has_projected_backward,
                  "agd: the kernel of a residual block's end has no backward_skip(context, [w,] "
                  "dy, d_skip, workspace)");
    static constexpr bool value = check::complete;
  };
};

}  // namespace kernel_error

namespace detail {

/// Checks layer Position's kernel on Backend: names the layer, the backend and whatever is
/// missing, and says whether the network may call it. The network's own residual opening has
/// no kernel.
template <std::size_t Position, class Layer, class Backend, class S>
using kernel_checked = std::conditional_t<
    layer_traits<Layer>::opens_residual, std::true_type,
    std::conditional_t<
        has_kernel<Layer, Backend>,
        typename kernel_error::layer<Position, Layer>::template kernel_for<Backend, S>,
        typename kernel_error::layer<Position,
                                     Layer>::template has_no_kernel_for_backend<Backend>>>;

}  // namespace detail
}  // namespace agd
