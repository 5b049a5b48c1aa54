// One layer's CPU kernel on Eigen matrices, outside a network: what a test of a layer (or of a
// layer of your own, docs/writing-a-layer.md) calls. Each matrix is one block of samples
// (columns); any workspace the kernel asks for is allocated per call.
//
//   agd::eigen::layer_forward<agd::Relu>(x, y);
//   agd::eigen::layer_backward<agd::Relu>(x, y, dy, dx);
//   agd::eigen::layer_forward<agd::Dense<6, 4>>(w, x, y);
//   agd::eigen::layer_backward_weights<agd::Dense<6, 4>>(x, dy, dw);
//   agd::eigen::layer_backward_inputs<agd::Dense<6, 4>>(w, dy, dx);
#pragma once

#include <cstddef>
#include <vector>

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/batch_norm.hpp"
#include "agd/backend/eigen/conv2d.hpp"
#include "agd/backend/eigen/pooling.hpp"
#include "agd/core/kernel.hpp"

namespace agd::eigen {

namespace detail {
template <class S>
matrix_view<const S> view_of(const_matrix_ref<S> m) {
  return {m.data(), std::size_t(m.rows()), std::size_t(m.cols()), std::size_t(m.outerStride())};
}
template <class S>
matrix_view<S> view_of(matrix_ref<S> m) {
  return {m.data(), std::size_t(m.rows()), std::size_t(m.cols()), std::size_t(m.outerStride())};
}
template <class L, class S>
std::vector<std::byte> workspace_for(std::size_t samples) {
  return std::vector<std::byte>(layer_kernel<L, cpu>::template workspace_bytes<S>(samples) + 64);
}
template <class L>
using kernel = layer_kernel<L, cpu>;
}  // namespace detail

/// y = L(x) for a layer without weights.
template <class L, class S>
void layer_forward(const_matrix_ref<S> x, matrix_ref<S> y) {
  cpu::context context;
  auto workspace = detail::workspace_for<L, S>(std::size_t(x.cols()));
  detail::kernel<L>::template forward<S>(context, detail::view_of<S>(x), detail::view_of<S>(y),
                                         workspace.data());
}
/// dx from dy for a layer without weights (x its input, y its output).
template <class L, class S>
void layer_backward(const_matrix_ref<S> x, const_matrix_ref<S> y, const_matrix_ref<S> dy,
                    matrix_ref<S> dx) {
  cpu::context context;
  auto workspace = detail::workspace_for<L, S>(std::size_t(x.cols()));
  detail::kernel<L>::template backward<S>(context, detail::view_of<S>(x), detail::view_of<S>(y),
                                          detail::view_of<S>(dy), detail::view_of<S>(dx),
                                          workspace.data());
}
/// y = L(w, x) for a layer with weights.
template <class L, class S>
void layer_forward(const_matrix_ref<S> w, const_matrix_ref<S> x, matrix_ref<S> y) {
  cpu::context context;
  auto workspace = detail::workspace_for<L, S>(std::size_t(x.cols()));
  detail::kernel<L>::template forward<S>(context, detail::view_of<S>(w), detail::view_of<S>(x),
                                         detail::view_of<S>(y), workspace.data());
}
/// dw (or a block of its rows, with the matching rows of dy) summed over the samples.
template <class L, class S>
void layer_backward_weights(const_matrix_ref<S> x, const_matrix_ref<S> dy, matrix_ref<S> dw) {
  cpu::context context;
  auto workspace = detail::workspace_for<L, S>(std::size_t(x.cols()));
  detail::kernel<L>::template backward_weights<S>(context, detail::view_of<S>(x),
                                                  detail::view_of<S>(dy), detail::view_of<S>(dw),
                                                  workspace.data());
}
template <class L, class S>
void layer_backward_inputs(const_matrix_ref<S> w, const_matrix_ref<S> dy, matrix_ref<S> dx) {
  cpu::context context;
  auto workspace = detail::workspace_for<L, S>(std::size_t(dy.cols()));
  detail::kernel<L>::template backward_inputs<S>(context, detail::view_of<S>(w),
                                                 detail::view_of<S>(dy), detail::view_of<S>(dx),
                                                 workspace.data());
}

}  // namespace agd::eigen
