// What a backend must supply for a network (network/sequential.hpp), its optimisers, losses and
// kernels to run on it: agd::NetworkBackend. docs/writing-a-backend.md states each member's
// meaning and its pre- and postconditions; this concept checks what the compiler can check
// cheaply (the nested types and constants, and each call with the argument types the library
// passes), so that a backend that lacks one is refused where the network is made, naming it,
// rather than deep inside the layer walk.
//
// The callables the library hands to parallel, for_each, local_for_each, segmented_for_each,
// single and local_segmented_sum are its own functors; the concept checks those members with the
// probes below, of the same shapes.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>

#include "agd/core/host_device.hpp"
#include "agd/core/precision.hpp"
#include "agd/core/result.hpp"
#include "agd/core/status.hpp"
#include "agd/core/view.hpp"

namespace agd {

namespace backend_probe {
/// f(thread, threads): a parallel region's body.
struct region {
  void operator()(unsigned, unsigned) const {}
};
/// f(i): an element-wise pass's body, run on the device by a device backend.
struct element {
  AGD_HOST_DEVICE void operator()(std::size_t) const {}
};
/// f(): a single task.
struct task {
  AGD_HOST_DEVICE void operator()() const {}
};
/// f.at_segment(s)(i): a segmented pass's body (core/elementwise.hpp's
/// segmented_expression_map).
struct segmented {
  AGD_HOST_DEVICE element at_segment(std::size_t) const { return {}; }
};
/// value(segment, i): a segmented sum's terms.
struct term {
  AGD_HOST_DEVICE double operator()(std::size_t, std::size_t) const { return 0; }
};
/// Words for a failed step's status (the network's, which knows its layers' names).
inline std::string words(const execution_status&) {
  return {};
}
}  // namespace backend_probe

/// B can hold and run a network whose scalar type is S.
template <class B, class S>
concept NetworkBackend = requires(typename B::context& context,
                                  const typename B::context& const_context,
                                  typename B::template buffer<S>& buffer, S* data,
                                  const S* const_data, const std::uint64_t* offsets, double* sums,
                                  std::size_t n, bool flag) {
  // What it is.
  { B::name() } -> std::convertible_to<std::string>;
  { B::asynchronous } -> std::convertible_to<bool>;
  { B::host_memory } -> std::convertible_to<bool>;
  typename B::context;
  typename B::step_graph;
  typename B::template matrix_ref<S>;
  requires std::default_initializable<typename B::context>;
  requires std::default_initializable<typename B::template buffer<S>>;
  requires std::default_initializable<typename B::template buffer<std::byte>>;
  requires std::default_initializable<typename B::template buffer<std::int32_t>>;
  requires std::default_initializable<typename B::template buffer<double>>;
  buffer.resize(n);
  { buffer.data() } -> std::same_as<S*>;
  { buffer.size() } -> std::convertible_to<std::size_t>;

  // The network's settings.
  { B::template channel_block<S>(const_context) } -> std::convertible_to<unsigned>;
  B::set_compute_precision(context, compute_precision::native);
  B::describe_failures_with(context, &backend_probe::words);
  B::begin_pass(context, pass_kind::forward);

  // Execution.
  B::parallel(context, backend_probe::region{});
  { B::thread_count(const_context) } -> std::convertible_to<unsigned>;
  B::local_for_each(context, n, backend_probe::element{});
  B::local_segmented_sum(context, n, n, backend_probe::term{}, sums);
  B::gemm(context, flag, flag, n, n, n, S(1), const_data, n, const_data, n, S(0), data, n);
  B::for_each(context, n, backend_probe::element{});
  B::segmented_squared_norms(context, const_data, offsets, n, sums);
  B::segmented_for_each(context, offsets, n, n, backend_probe::segmented{});
  B::single(context, backend_probe::task{});

  // Memory, results and the status of a step.
  B::upload(context, const_data, n, data);
  B::download(context, const_data, n, data);
  B::copy(context, const_data, n, data);
  B::synchronize(context);
  {
    agd::read(B::read_result(context, static_cast<const double*>(sums)))
    } -> std::convertible_to<double>;
  {
    agd::read(B::template read_results<2>(context, static_cast<const double*>(sums)))[1]
    } -> std::convertible_to<double>;
  { B::read_status(context) } -> std::same_as<execution_status>;
  B::clear_status(context);
  { B::status_pointer(context) } -> std::same_as<execution_status*>;
};

}  // namespace agd
