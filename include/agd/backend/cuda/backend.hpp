// agd::cuda::device, the CUDA backend: the same primitives as the CPU backend
// (backend/eigen/backend.hpp), on an NVIDIA GPU, and no maths of its own beyond the GEMM.
//
//   storage         buffer<T>: device memory (cudaMalloc), zeroed, allocated only when sized;
//   execution       one non-blocking stream per network, shared by cuBLAS and Thrust
//                   (thrust::cuda::par_nosync.on(stream)): a training step enqueues its work and
//                   returns; nothing in it waits for the device, allocates or copies to the host;
//   element-wise    one Thrust for_each_n (one kernel) per pass;
//   sums            CUB's segmented reduction, into device memory, with its temporary storage
//                   allocated once (the first step is the warm-up that sizes it);
//   GEMM            cuBLAS (FP32, or TF32 tensor cores when asked for; FP64 for double; a
//                   bf16 network's on bf16 tensor cores with FP32 sums, set_compute_precision);
//   results         eta, a loss: read_result() returns a device_result, which copies the value to
//                   the host (with the status, in one copy, and one wait for the stream) only
//                   when read() (agd::read) asks for it.
//
// Built with Thrust's host (CPP) device system instead (THRUST_DEVICE_SYSTEM ==
// THRUST_DEVICE_SYSTEM_CPP, what the CPU-only CI does), every primitive runs on the CPU with the
// same code above it, the GEMMs through Eigen with cuBLAS's arguments: the whole backend is
// tested without a GPU. The backend stays asynchronous in its contract there too (results are
// read lazily, a failed step is reported when a result is read), so the tests exercise the same
// logic a GPU runs.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "agd/backend/cuda/graph.hpp"
#include "agd/backend/cuda/runtime.hpp"
#include "agd/core/backend.hpp"
#include "agd/core/errors.hpp"
#include "agd/core/host_device.hpp"
#include "agd/core/precision.hpp"
#include "agd/core/status.hpp"
#include "agd/core/view.hpp"

#if AGD_CUDA_DEVICE
#include <thrust/iterator/transform_iterator.h>
#include <cub/device/device_segmented_reduce.cuh>
#endif

namespace agd::cuda {

/// Owning device memory for n values of T, zeroed when allocated. Moves, never copies.
template <class T>
class buffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  buffer() = default;
  explicit buffer(std::size_t n) { resize(n); }
  buffer(buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  buffer& operator=(buffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~buffer() { release(); }

  /// Allocates n zeros (this allocates and waits for the device: size buffers before
  /// training).
  void resize(std::size_t n) {
    if (n == size_) return;
    release();
    if (n == 0) return;
    data_ = static_cast<T*>(device_allocate(n * sizeof(T)));
    size_ = n;
    device_zero(data_, n * sizeof(T));
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() {
    if (data_) device_free(data_);
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

struct device;

/// A value a step left in device memory (eta, a loss), read only by a named call: read() (or
/// agd::read(result), which is the value itself on the CPU backend) waits for the stream and
/// returns it, and throws agd::non_finite_error if the step (or an earlier one since the last
/// read) met a NaN or an infinity. There is no implicit conversion: each read is a wait for the
/// device, which a training loop must not do by accident.
template <class T>
class device_result {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= readback_block::value_bytes);

 public:
  /// The sizeof(T) bytes at `value` (device memory) as a T.
  device_result(execution_context* context, const void* value) : context_(context), value_(value) {}
  [[nodiscard]] T read() const;

 private:
  execution_context* context_;
  const void* value_;
};

}  // namespace agd::cuda

namespace agd {
/// A device result is read by its read() (a wait for the stream).
template <class T>
struct result_traits<cuda::device_result<T>> {
  static constexpr bool deferred = true;
};
}  // namespace agd

namespace agd::cuda {

namespace detail {
/// f() once, as a one-thread kernel.
template <class F>
struct single_task {
  F f;
  AGD_HOST_DEVICE void operator()(std::size_t) const { f(); }
};
/// The element value(segment, i) of a family of equal segments, by global index.
template <class F>
struct uniform_segment_value {
  F value;
  std::size_t size;
  AGD_HOST_DEVICE double operator()(std::size_t global) const {
    return value(global / size, global % size);
  }
};
struct times_constant {
  std::size_t factor;
  AGD_HOST_DEVICE std::size_t operator()(std::size_t i) const { return i * factor; }
};
template <class S>
struct squared_as_double {
  AGD_HOST_DEVICE double operator()(S v) const { return double(v) * double(v); }
};
/// f(segment, element) for an element of a flat buffer cut into segments, the segment found by
/// binary search over the offsets (a few hundred at most, so a handful of cached loads per
/// element).
template <class F>
struct in_segment {
  F f;
  const std::uint64_t* offsets;  // segments + 1
  std::uint32_t segments;
  AGD_HOST_DEVICE void operator()(std::uint64_t element) const {
    std::uint32_t low = 0, high = segments;  // offsets[low] <= element < offsets[high]
    while (high - low > 1) {
      const std::uint32_t middle = (low + high) / 2;
      if (offsets[middle] <= element)
        low = middle;
      else
        high = middle;
    }
    f.at_segment(low)(element);
  }
};
}  // namespace detail

struct device {
  static std::string name() { return "agd::cuda::device"; }
  /// A step only enqueues work; results are read when asked for.
  static constexpr bool asynchronous = true;
  /// Views are device memory: the host reaches them through upload/download.
  static constexpr bool host_memory = false;

  template <class T>
  using buffer = cuda::buffer<T>;
  /// What Net::weight(k) and the batch buffers are seen as: views of device memory.
  template <class S>
  using matrix_ref = matrix_view<S>;
  using context = execution_context;
  using step_graph = cuda::step_graph;

  /// The Thrust execution policy of a context: its stream, with no synchronisation after each
  /// algorithm (par_nosync); on the host system, sequential.
  static auto policy(context& ctx) {
#if AGD_CUDA_DEVICE
    return thrust::cuda::par_nosync.on(ctx.stream);
#else
    (void)ctx;
    return thrust::cpp::par;
#endif
  }

  // Execution: the whole batch in one "thread", on the stream.
  template <class F>
  static void parallel(context&, F&& f) {
    f(0u, 1u);
  }
  static unsigned thread_count(const context&) {
    return 1;
  }
  /// Image activations stay CHW on the GPU (core/view.hpp): no blocked channel layout.
  template <class S>
  static unsigned channel_block(const context&) {
    return 1;
  }
  /// Nothing to redo per pass: the kernels read the weights as they are.
  static void begin_pass(context&, pass_kind) {}
  /// The words of the error a failed step throws when its result is read (device_result),
  /// long after the network's call returned.
  static void describe_failures_with(context& ctx, std::string (*words)(const execution_status&)) {
    ctx.describe = words;
  }

  /// Makes the network of this context compute in `precision` (network/precision.hpp calls it
  /// at construction), or says in one sentence why this GPU cannot: bf16 needs its tensor cores
  /// (compute capability 8.0 or later). Its float GEMMs, and so its convolutions, then multiply
  /// bf16-rounded inputs with FP32 sums (runtime.hpp, gemm_bf16); everything else stays float.
  /// On Thrust's host system the same numbers are computed on the CPU in fp32 (no bf16
  /// instructions needed), so that CI tests the bf16 network on this backend.
  static void set_compute_precision(context& ctx, compute_precision precision) {
    if (precision == compute_precision::bf16) {
      if (std::string refusal = bf16_refusal(); !refusal.empty()) throw std::runtime_error(refusal);
    }
    ctx.precision = precision;
  }

  /// f(i) for i in [0, n): one kernel.
  template <class F>
  static void local_for_each(context& ctx, std::size_t n, const F& f) {
    if (n == 0) return;
    thrust::for_each_n(policy(ctx), thrust::counting_iterator<std::size_t>(0), n, f);
  }
  template <class F>
  static void for_each(context& ctx, std::size_t n, const F& f) {
    local_for_each(ctx, n, f);
  }
  template <class F>
  static void single(context& ctx, const F& f) {
    thrust::for_each_n(policy(ctx), thrust::counting_iterator<std::size_t>(0), 1,
                       detail::single_task<F>{f});
  }

  /// out[s] = sum over i in [0, size) of value(s, i), in double, for s in [0, segments).
  template <class F>
  static void local_segmented_sum(context& ctx, std::size_t segments, std::size_t size,
                                  const F& value, double* out) {
    if (segments == 0) return;
#if AGD_CUDA_DEVICE
    const auto input = thrust::make_transform_iterator(
        thrust::counting_iterator<std::size_t>(0), detail::uniform_segment_value<F>{value, size});
    const auto begins = thrust::make_transform_iterator(thrust::counting_iterator<std::size_t>(0),
                                                        detail::times_constant{size});
    segmented_reduce(ctx, input, out, segments, begins, begins + 1);
#else
    // Thrust's host system has no CUB: the same sums as plain loops.
    (void)ctx;
    for (std::size_t s = 0; s < segments; ++s) {
      double sum = 0;
      for (std::size_t i = 0; i < size; ++i) sum += value(s, i);
      out[s] = sum;
    }
#endif
  }

  /// out[s] = ||data[offsets[s] .. offsets[s+1])||^2, squares summed in double: one CUB
  /// segmented reduction for every AGD slice of every layer.
  template <class S>
  static void segmented_squared_norms(context& ctx, const S* data, const std::uint64_t* offsets,
                                      std::size_t segments, double* out) {
#if AGD_CUDA_DEVICE
    const auto squares = thrust::make_transform_iterator(data, detail::squared_as_double<S>{});
    segmented_reduce(ctx, squares, out, segments, offsets, offsets + 1);
#else
    (void)ctx;
    for (std::size_t s = 0; s < segments; ++s) {
      double sum = 0;
      for (std::uint64_t i = offsets[s]; i < offsets[s + 1]; ++i)
        sum += double(data[i]) * double(data[i]);
      out[s] = sum;
    }
#endif
  }

  /// f.at_segment(s)(i) for every element i of every segment s (core/elementwise.hpp's
  /// segmented_expression_map): one kernel. `elements` is the last offset (which the caller
  /// knows on the host).
  template <class F>
  static void segmented_for_each(context& ctx, const std::uint64_t* offsets, std::size_t segments,
                                 std::size_t elements, const F& f) {
    thrust::for_each_n(policy(ctx), thrust::counting_iterator<std::uint64_t>(0), elements,
                       detail::in_segment<F>{f, offsets, std::uint32_t(segments)});
  }

  /// BLAS's GEMM on the stream (see runtime.hpp).
  template <class S>
  static void gemm(context& ctx, bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
                   std::size_t k, S alpha, const S* a, std::size_t lda, const S* b, std::size_t ldb,
                   S beta, S* c, std::size_t ldc) {
    cuda::gemm(ctx, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  // Memory: asynchronous copies on the stream.
  template <class T>
  static void upload(context& ctx, const T* host, std::size_t n, T* to) {
    copy_bytes(ctx, to, host, n * sizeof(T), copy_kind::host_to_device);
  }
  template <class T>
  static void download(context& ctx, const T* from, std::size_t n, T* host) {
    copy_bytes(ctx, host, from, n * sizeof(T), copy_kind::device_to_host);
  }
  template <class T>
  static void copy(context& ctx, const T* from, std::size_t n, T* to) {
    copy_bytes(ctx, to, from, n * sizeof(T), copy_kind::device_to_device);
  }
  static void synchronize(context& ctx) {
    stream_synchronize(ctx);
  }

  static execution_status read_status(context& ctx) {
    execution_status status;
    copy_bytes(ctx, &status, ctx.status, sizeof status, copy_kind::device_to_host);
    stream_synchronize(ctx);
    return status;
  }
  static void clear_status(context& ctx) {
    const execution_status ok{};
    copy_bytes(ctx, ctx.status, &ok, sizeof ok, copy_kind::host_to_device);
    stream_synchronize(ctx);
  }
  static execution_status* status_pointer(context& ctx) {
    return ctx.status;
  }

  template <class T>
  static device_result<T> read_result(context& ctx, const T* value) {
    return {&ctx, value};
  }
  /// N adjacent values read together (one wait for the device).
  template <std::size_t N, class T>
  static device_result<std::array<T, N>> read_results(context& ctx, const T* values) {
    return {&ctx, values};
  }

 private:
#if AGD_CUDA_DEVICE
  /// CUB's segmented sum with the context's scratch, grown (only) when a call needs more: the
  /// first step sizes it, and a steady training loop never allocates.
  template <class Input, class Offsets>
  static void segmented_reduce(context& ctx, Input input, double* out, std::size_t segments,
                               Offsets begins, Offsets ends) {
    std::size_t bytes = 0;
    check(cub::DeviceSegmentedReduce::Sum(nullptr, bytes, input, out, int(segments), begins, ends,
                                          ctx.stream),
          "cub::DeviceSegmentedReduce::Sum (size query)");
    void* scratch = ctx.scratch(bytes);
    check(cub::DeviceSegmentedReduce::Sum(scratch, bytes, input, out, int(segments), begins, ends,
                                          ctx.stream),
          "cub::DeviceSegmentedReduce::Sum");
  }
#endif
};

// The value is copied beside the status on the device, so that one copy to the host and one wait
// bring back both.
template <class T>
T device_result<T>::read() const {
  execution_context& ctx = *context_;
  readback_block* const block = ctx.readback();
  copy_bytes(ctx, block->value, value_, sizeof(T), copy_kind::device_to_device);
  readback_block host;
  copy_bytes(ctx, &host, block, offsetof(readback_block, value) + sizeof(T),
             copy_kind::device_to_host);
  stream_synchronize(ctx);
  ++ctx.results_read;
  if (host.status.code != status_code::ok) {
    device::clear_status(ctx);
    throw non_finite_error(ctx.describe ? ctx.describe(host.status) : std::string("a step failed"));
  }
  T value;
  std::memcpy(static_cast<void*>(&value), host.value, sizeof(T));
  return value;
}

static_assert(NetworkBackend<device, float> && NetworkBackend<device, double>);

}  // namespace agd::cuda
