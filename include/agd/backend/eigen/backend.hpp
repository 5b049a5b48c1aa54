// agd::eigen::cpu, the CPU backend: what a network needs from the machine it runs on, and no
// maths of its own beyond a GEMM. The network (network/sequential.hpp), the layer kernels written
// once (layers/), the losses and the optimisers call these primitives; the CUDA backend
// (backend/cuda/backend.hpp) supplies the same ones.
//
//   storage         buffer<T>: owning, 64-byte aligned, zero-initialised, allocated only when
//                   sized (from the network type and the batch capacity, before training);
//   parallel        a region on the CPU pool (backend/eigen/thread_pool.hpp): the network gives
//                   each thread its own block of samples, channels or weight rows;
//   local_*         work on the calling thread's block: an element-wise pass (a loop the
//                   compiler vectorises), a GEMM (single-threaded: oneDNN's matmul for float
//                   where agd is built on oneDNN, backend/eigen/onednn.hpp; else Eigen's own
//                   kernels, or OpenBLAS), per-segment sums;
//   whole buffers   for_each, segmented_squared_norms and segmented_for_each spread one pass over
//                   a flat buffer across the pool (the optimisers' passes);
//   memory          upload/download/copy (plain copies here: the CPU's memory is the host's).
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
#include <vector>

#include <Eigen/Core>

#include "agd/backend/eigen/onednn.hpp"
#include "agd/backend/eigen/threads.hpp"
#include "agd/core/backend.hpp"
#include "agd/core/matrix.hpp"
#include "agd/core/partition.hpp"
#include "agd/core/precision.hpp"
#include "agd/core/status.hpp"
#include "agd/core/view.hpp"

namespace agd::eigen {

/// Owning storage of n values of T: 64-byte aligned (one cache line, one AVX-512 register),
/// zero-initialised, never reallocated except by resize().
template <class T>
class buffer {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  buffer() = default;
  explicit buffer(std::size_t n) { resize(n); }
  buffer(const buffer& other) : buffer(other.size_) {
    if (size_) std::memcpy(data_.get(), other.data_.get(), size_ * sizeof(T));
  }
  buffer& operator=(const buffer& other) {
    if (this != &other) {
      resize(other.size_);
      if (size_) std::memcpy(data_.get(), other.data_.get(), size_ * sizeof(T));
    }
    return *this;
  }
  buffer(buffer&&) noexcept = default;
  buffer& operator=(buffer&&) noexcept = default;

  /// Allocates n zeros (this allocates: size buffers before the training loop).
  void resize(std::size_t n) {
    if (n == size_) return;
    data_.reset(n ? static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{64}))
                  : nullptr);
    size_ = n;
    if (n) std::memset(static_cast<void*>(data_.get()), 0, n * sizeof(T));
  }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct aligned_delete {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{64}); }
  };
  std::unique_ptr<T[], aligned_delete> data_;
  std::size_t size_ = 0;
};

/// An Eigen view of a block (no copy).
template <class S>
using map = Eigen::Map<matrix<std::remove_const_t<S>>, 0, Eigen::OuterStride<>>;
template <class S>
using const_map = Eigen::Map<const matrix<std::remove_const_t<S>>, 0, Eigen::OuterStride<>>;

template <class S>
map<S> as_eigen(matrix_view<S> v) {
  return {v.data, Eigen::Index(v.rows), Eigen::Index(v.cols), Eigen::OuterStride<>(v.stride)};
}
template <class S>
const_map<S> as_eigen(matrix_view<const S> v) {
  return {v.data, Eigen::Index(v.rows), Eigen::Index(v.cols), Eigen::OuterStride<>(v.stride)};
}

struct cpu {
  static std::string name() { return "agd::eigen::cpu"; }
  /// Results are ready when a call returns: a step's status is read and thrown at once.
  static constexpr bool asynchronous = false;
  /// Backend memory is host memory: views can be read and written directly.
  static constexpr bool host_memory = true;

  template <class T>
  using buffer = eigen::buffer<T>;
  /// What Net::weight(k) and the batch buffers are seen as by users of this backend.
  template <class S>
  using matrix_ref = Eigen::Map<matrix<S>>;
  template <class S>
  using const_matrix_ref = Eigen::Map<const matrix<S>>;

  /// The execution state a network owns: the status of its last step, scratch for the
  /// per-thread partial sums of the segmented norms (sized at the first step), and on oneDNN the
  /// network's primitives and their per-thread scratchpads.
  struct context {
    execution_status status;
    std::vector<double> partial_sums;
    /// What the GEMMs and convolutions multiply in: the network type's precision
    /// (network/precision.hpp sets it through set_compute_precision).
    compute_precision precision = compute_precision::native;
#ifdef AGD_WITH_ONEDNN
    onednn::resources onednn;
#endif
  };

  /// Why this machine or build cannot compute in `precision`, in one sentence (empty where it
  /// can): bf16 needs oneDNN and a CPU that multiplies bf16 in hardware (never a slow emulation).
  static std::string precision_refusal(compute_precision precision) {
    if (precision != compute_precision::bf16) return {};
#ifdef AGD_WITH_ONEDNN
    return onednn::bf16_refusal();
#else
    return "agd: Net::with_precision<agd::bf16> runs on the oneDNN engine, and this build has "
           "Eigen's (configured with -DAGD_CPU_ENGINE=eigen, or oneDNN was not found): install "
           "libdnnl-dev and configure with -DAGD_CPU_ENGINE=auto, or train in fp32.";
#endif
  }

  /// Makes the network of this context compute in `precision`, or throws precision_refusal().
  static void set_compute_precision(context& ctx, compute_precision precision) {
    if (std::string refusal = precision_refusal(precision); !refusal.empty())
      throw std::runtime_error(refusal);
    ctx.precision = precision;
  }

  /// Nothing to keep: a failed step throws at once, from the network's own call, in its words.
  static void describe_failures_with(context&, std::string (*)(const execution_status&)) {}

  /// The compute engine of the CPU backend in this build: "onednn" or "eigen".
  static std::string engine() {
#ifdef AGD_WITH_ONEDNN
    return "onednn";
#else
    return "eigen";
#endif
  }

  /// The channel group of the blocked layout this backend keeps image activations of scalar S
  /// in between layers that accept it (core/view.hpp): oneDNN's choice on this CPU for float
  /// (16 with AVX-512, 8 with AVX2), 1 (CHW throughout) for double or without oneDNN.
  template <class S>
  static unsigned channel_block(const context&) {
#ifdef AGD_WITH_ONEDNN
    if constexpr (std::is_same_v<S, float>) return onednn::cpu_engine().channel_block;
#endif
    return 1;
  }

  /// A forward or backward pass of a network begins (its weights may have changed since the
  /// last): on oneDNN, the weights that convolutions read in layouts of their own are converted
  /// again, those the last pass of this kind read at once by every thread of the pool, any
  /// other at its first use in the pass.
  static void begin_pass(context& ctx, pass_kind kind) {
#ifdef AGD_WITH_ONEDNN
    ctx.onednn.begin_pass(kind);
#else
    (void)ctx;
    (void)kind;
#endif
  }

  // Execution.

  /// f(thread, threads) on every thread of the pool; returns when all are done.
  template <class F>
  static void parallel([[maybe_unused]] context& ctx, F&& f) {
    cpu_pool().run(f);
#ifdef AGD_WITH_ONEDNN
    ctx.onednn.end_region();
#endif
  }
  static unsigned thread_count(const context&) {
    return cpu_pool().size();
  }

  // Work on the calling thread's block.

  /// f(i) for i in [0, n), in a loop with no dependence between iterations (the compiler
  /// vectorises it when f inlines to straight-line arithmetic).
  template <class F>
  static void local_for_each(context&, std::size_t n, const F& f) {
#pragma GCC ivdep
    for (std::size_t i = 0; i < n; ++i) f(i);
  }

  /// out[s] = sum over i in [0, size) of value(s, i), for s in [0, segments), in double.
  template <class F>
  static void local_segmented_sum(context&, std::size_t segments, std::size_t size, const F& value,
                                  double* out) {
    for (std::size_t s = 0; s < segments; ++s) {
      double sum = 0;
      for (std::size_t i = 0; i < size; ++i) sum += value(s, i);
      out[s] = sum;
    }
  }

  /// BLAS's GEMM: C (m x n) = alpha op(A) op(B) + beta C, column-major with leading dimensions,
  /// single-threaded (the pool's threads each call it on their part).
  template <class S>
  static void gemm(context&, bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
                   std::size_t k, S alpha, const S* a, std::size_t lda, const S* b, std::size_t ldb,
                   S beta, S* c, std::size_t ldc);

  // Whole flat buffers, spread over the pool.

  /// f(i) for i in [0, n), each thread taking a contiguous part.
  template <class F>
  static void for_each(context& ctx, std::size_t n, const F& f) {
    parallel(ctx, [&](unsigned thread, unsigned threads) {
      const auto [first, count] = split_range(std::ptrdiff_t(n), thread, threads, 16);
      const std::size_t begin = std::size_t(first), end = begin + std::size_t(count);
#pragma GCC ivdep
      for (std::size_t i = begin; i < end; ++i) f(i);
    });
  }

  /// out[s] = ||data[offsets[s] .. offsets[s+1])||^2 for every segment: each thread takes a
  /// part of every segment, and the parts are added in thread order (so that a run is
  /// reproducible for a given thread count).
  template <class S>
  static void segmented_squared_norms(context& ctx, const S* data, const std::uint64_t* offsets,
                                      std::size_t segments, double* out) {
    const unsigned threads = thread_count(ctx);
    if (ctx.partial_sums.size() < threads * segments) ctx.partial_sums.resize(threads * segments);
    double* partial = ctx.partial_sums.data();
    parallel(ctx, [&](unsigned thread, unsigned count) {
      for (std::size_t s = 0; s < segments; ++s) {
        const auto [first, size] = part(offsets, s, thread, count);
        // Squares summed in double: a large but finite float gradient must not overflow.
        partial[thread * segments + s] =
            Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, 1>>(data + first, size)
                .template cast<double>()
                .squaredNorm();
      }
    });
    for (std::size_t s = 0; s < segments; ++s) {
      double sum = 0;
      for (unsigned t = 0; t < threads; ++t) sum += partial[t * segments + s];
      out[s] = sum;
    }
  }

  /// f.at_segment(s)(i) for every element i of every segment s (core/elementwise.hpp's
  /// segmented_expression_map): each thread takes a part of every segment. `elements` is the
  /// last offset.
  template <class F>
  static void segmented_for_each(context& ctx, const std::uint64_t* offsets, std::size_t segments,
                                 std::size_t /*elements*/, const F& f) {
    parallel(ctx, [&](unsigned thread, unsigned count) {
      for (std::size_t s = 0; s < segments; ++s) {
        const auto [first, size] = part(offsets, s, thread, count);
        const auto pass = f.at_segment(s);
        const std::size_t begin = std::size_t(first), end = begin + std::size_t(size);
#pragma GCC ivdep
        for (std::size_t i = begin; i < end; ++i) pass(i);
      }
    });
  }

  /// f() once (the scalar steps between two passes: G, eta, the per-slice factors).
  template <class F>
  static void single(context&, const F& f) {
    f();
  }

  // Memory. Backend memory is host memory, so these are copies.
  template <class T>
  static void upload(context&, const T* host, std::size_t n, T* to) {
    if (n) std::memmove(static_cast<void*>(to), host, n * sizeof(T));
  }
  template <class T>
  static void download(context&, const T* from, std::size_t n, T* host) {
    if (n) std::memmove(static_cast<void*>(host), from, n * sizeof(T));
  }
  template <class T>
  static void copy(context&, const T* from, std::size_t n, T* to) {
    if (n) std::memmove(static_cast<void*>(to), from, n * sizeof(T));
  }
  static void synchronize(context&) {}
  /// A result of a step (eta, a loss) as the caller receives it: here, the value itself.
  template <class T>
  static T read_result(context&, const T* value) {
    return *value;
  }
  /// N adjacent results, as device backends read them together.
  template <std::size_t N, class T>
  static std::array<T, N> read_results(context&, const T* values) {
    std::array<T, N> host;
    std::copy_n(values, N, host.begin());
    return host;
  }
  /// A training step to run many times (train::fit): on the CPU it simply runs each time (so
  /// it sets its own host-side state, and on_replay has nothing to do).
  struct step_graph {
    explicit step_graph(context&) {}
    template <class Step>
    void run(Step&& step) {
      step();
    }
    template <class Step, class OnReplay>
    void run(Step&& step, OnReplay&&) {
      step();
    }
  };

  /// The status of the last step (already in host memory).
  static execution_status read_status(context& ctx) {
    return ctx.status;
  }
  static void clear_status(context& ctx) {
    ctx.status = {};
  }
  static execution_status* status_pointer(context& ctx) {
    return &ctx.status;
  }

 private:
  /// Thread `thread`'s contiguous part of segment s: (first element, count).
  static std::pair<std::size_t, Eigen::Index> part(const std::uint64_t* offsets, std::size_t s,
                                                   unsigned thread, unsigned threads) {
    const auto [first, count] =
        split_range(std::ptrdiff_t(offsets[s + 1] - offsets[s]), thread, threads, 16);
    return {std::size_t(offsets[s]) + std::size_t(first), Eigen::Index(count)};
  }
};

// Defined outside the class, so not implicitly inline: a program that compiles Eigen's product
// kernels once, in a translation unit of its own (AGD_EXTERN_EIGEN_KERNELS, below), keeps every
// other translation unit from instantiating them again.
template <class S>
void cpu::gemm([[maybe_unused]] context& ctx, bool transpose_a, bool transpose_b, std::size_t m,
               std::size_t n, std::size_t k, S alpha, const S* a, std::size_t lda, const S* b,
               std::size_t ldb, S beta, S* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const auto i = [](std::size_t v) { return Eigen::Index(v); };
  const const_map<S> a_stored(a, i(transpose_a ? k : m), i(transpose_a ? m : k),
                              Eigen::OuterStride<>(i(lda)));
  const const_map<S> b_stored(b, i(transpose_b ? n : k), i(transpose_b ? k : n),
                              Eigen::OuterStride<>(i(ldb)));
  map<S> c_map(c, i(m), i(n), Eigen::OuterStride<>(i(ldc)));
  if (k == 0) {
    if (beta == S(0))
      c_map.setZero();
    else
      c_map *= beta;
    return;
  }
#ifdef AGD_WITH_ONEDNN
  if constexpr (std::is_same_v<S, float>) {
    if (onednn::gemm(ctx.onednn, ctx.precision, transpose_a, transpose_b, m, n, k, alpha, a, lda, b,
                     ldb, beta, c, ldc))
      return;
  }
#endif
  // Eigen's product kernels take the transposes and alpha as flags: no copy of A or B is made
  // and C is written once.
  const auto assign = [&](const auto& product) {
    if (beta == S(0)) {
      c_map.noalias() = alpha * product;
    } else {
      if (beta != S(1)) c_map *= beta;
      c_map.noalias() += alpha * product;
    }
  };
  if (transpose_a && transpose_b)
    assign(a_stored.transpose() * b_stored.transpose());
  else if (transpose_a)
    assign(a_stored.transpose() * b_stored);
  else if (transpose_b)
    assign(a_stored * b_stored.transpose());
  else
    assign(a_stored * b_stored);
}

// AGD_EXTERN_EIGEN_KERNELS: the float GEMM is compiled once, in src/eigen_kernels.cpp (the CMake
// target agd::eigen_kernels, which defines this macro for the programs that link it), rather than
// in every translation unit that trains a network: Eigen's product kernels are a large part of
// such a unit's compile time. Without the macro nothing changes (agd stays header-only).
#ifdef AGD_EXTERN_EIGEN_KERNELS
extern template void cpu::gemm<float>(cpu::context&, bool, bool, std::size_t, std::size_t,
                                      std::size_t, float, const float*, std::size_t, const float*,
                                      std::size_t, float, float*, std::size_t);
#endif

}  // namespace agd::eigen

namespace agd {
/// The default backend of agd::Sequential.
using cpu_backend = eigen::cpu;
static_assert(NetworkBackend<cpu_backend, float> && NetworkBackend<cpu_backend, double>);
}  // namespace agd
