// The CUDA runtime calls the CUDA backend makes, in one place: device memory, the stream,
// copies, cuBLAS, and the execution_context a network owns. Built for Thrust's host (CPP)
// device system, each has a host stand-in (memory from the heap, copies with memcpy, the GEMM
// through the CPU backend's Eigen call with cuBLAS's arguments), so that everything above it
// runs in the CPU-only CI.
//
// Mixed precision (Net::with_precision<agd::bf16>, network/precision.hpp): the float GEMMs of a
// bf16 network round A and B into bfloat16 copies of their own and multiply those on tensor
// cores with float sums and a float C (cublasGemmEx, CUBLAS_COMPUTE_32F), which needs compute
// capability 8.0 (Ampere) or later. Everything else of the network stays float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <thrust/execution_policy.h>

#include "agd/core/host_device.hpp"
#include "agd/core/precision.hpp"
#include "agd/core/status.hpp"

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#define AGD_CUDA_DEVICE 1
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#else
#define AGD_CUDA_DEVICE 0
#include "agd/backend/eigen/backend.hpp"
#endif

namespace agd::cuda {

/// Thrown when a CUDA runtime or cuBLAS call fails: which call, and the runtime's words.
class cuda_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

#if AGD_CUDA_DEVICE
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw cuda_error(std::string("agd::cuda: ") + what + " failed: " + cudaGetErrorName(status) +
                     " (" + cudaGetErrorString(status) + ")");
}
inline void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw cuda_error(std::string("agd::cuda: ") + what + " failed with cuBLAS status " +
                     std::to_string(int(status)));
}
#endif

inline void* device_allocate(std::size_t bytes) {
#if AGD_CUDA_DEVICE
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation)
    throw cuda_error("agd::cuda: cannot allocate " + std::to_string(bytes) +
                     " bytes of device memory (out of memory: use a smaller batch capacity)");
  check(status, "cudaMalloc");
  return p;
#else
  return ::operator new (bytes, std::align_val_t{256});
#endif
}
inline void device_free(void* p) noexcept {
#if AGD_CUDA_DEVICE
  cudaFree(p);
#else
  ::operator delete (p, std::align_val_t{256});
#endif
}
/// Zeroes freshly allocated memory (waits for it: allocation happens before training).
inline void device_zero(void* p, std::size_t bytes) {
#if AGD_CUDA_DEVICE
  check(cudaMemset(p, 0, bytes), "cudaMemset");
#else
  std::memset(p, 0, bytes);
#endif
}

struct gemm_options {
  /// TensorFloat-32 tensor-core GEMMs (10-bit mantissa inputs, FP32 accumulation): faster on
  /// Ampere and later, and no longer bit-comparable with the CPU; off by default. (A bf16
  /// network's float GEMMs multiply bf16 whatever this says: execution_context::precision.)
  bool tf32 = false;
};

/// Why this machine cannot run a bf16 network on the CUDA backend, in one sentence (empty where
/// it can): the current device needs bf16 tensor cores, compute capability 8.0 or later. On
/// Thrust's host system nothing is missing (the bf16 GEMMs are emulated there, see gemm_bf16).
inline std::string bf16_refusal() {
#if AGD_CUDA_DEVICE
  int index = 0, major = 0, minor = 0;
  check(cudaGetDevice(&index), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, index),
        "cudaDeviceGetAttribute");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, index),
        "cudaDeviceGetAttribute");
  if (major >= 8) return {};
  cudaDeviceProp properties{};
  check(cudaGetDeviceProperties(&properties, index), "cudaGetDeviceProperties");
  return "agd: Net::with_precision<agd::bf16> on the CUDA backend multiplies on bf16 tensor "
         "cores (compute capability 8.0 or later), and CUDA device " +
         std::to_string(index) + " (" + properties.name + ") has compute capability " +
         std::to_string(major) + "." + std::to_string(minor) +
         ", so train this network in fp32: drop with_precision (or pass --precision fp32).";
#else
  return {};
#endif
}

/// What device_result reads back in one device-to-host copy: the status of the steps, then a
/// copy of the value asked for (made on the stream just before).
struct readback_block {
  static constexpr std::size_t value_bytes = 32;
  execution_status status;
  alignas(16) unsigned char value[value_bytes];
};

/// What a network on the CUDA backend owns: its stream (non-blocking, shared by cuBLAS, Thrust
/// and CUB), its cuBLAS handle with a workspace of its own (so that a step can be captured in a
/// CUDA Graph), the status of its steps in device memory (core/status.hpp), and the scratch
/// of CUB's reductions. Not copyable: it owns device resources.
class execution_context {
 public:
  explicit execution_context(gemm_options options = {}) {
#if AGD_CUDA_DEVICE
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    check(cublasCreate(&blas), "cublasCreate");
    check(cublasSetStream(blas, stream), "cublasSetStream");
    // cuBLAS's own workspace would be allocated inside a step, which a graph cannot capture.
    blas_workspace_ = device_allocate(blas_workspace_bytes);
    check(cublasSetWorkspace(blas, blas_workspace_, blas_workspace_bytes), "cublasSetWorkspace");
#endif
    set_gemm_options(options);
    readback_ = static_cast<readback_block*>(device_allocate(sizeof(readback_block)));
    device_zero(readback_, sizeof(readback_block));
    status = &readback_->status;
  }
  ~execution_context() {
#if AGD_CUDA_DEVICE
    if (stream) cudaStreamSynchronize(stream);
    if (blas) cublasDestroy(blas);
    if (blas_workspace_) device_free(blas_workspace_);
    if (stream) cudaStreamDestroy(stream);
#endif
    if (scratch_) device_free(scratch_);
    if (operand_scratch_) device_free(operand_scratch_);
    if (readback_) device_free(readback_);
  }
  execution_context(const execution_context&) = delete;
  execution_context& operator=(const execution_context&) = delete;

  void set_gemm_options(gemm_options options) {
    options_ = options;
#if AGD_CUDA_DEVICE
    check(cublasSetMathMode(blas, options.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
          "cublasSetMathMode");
#endif
  }
  const gemm_options& options() const {
    return options_;
  }

  /// At least `bytes` of device scratch; grows (allocates) only when a call needs more than
  /// any before it.
  void* scratch(std::size_t bytes) {
    return grow(scratch_, scratch_bytes_, bytes);
  }
  /// At least `bytes` for the rounded copies of a bf16 GEMM's A and B: a buffer of its own, as
  /// a caller may hold scratch() across a GEMM. Grows only when a GEMM needs more than any
  /// before it (the first step sizes it: a steady training loop never allocates).
  void* operand_scratch(std::size_t bytes) {
    return grow(operand_scratch_, operand_scratch_bytes_, bytes);
  }

  /// What the float GEMMs multiply in: the network type's precision (network/precision.hpp
  /// sets it through device::set_compute_precision). Double GEMMs are always FP64.
  compute_precision precision = compute_precision::native;

#if AGD_CUDA_DEVICE
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
#else
  /// On Thrust's host system, the GEMMs run on the CPU backend's (its oneDNN primitives are
  /// made once, here, rather than at every call).
  eigen::cpu::context host;
#endif
  /// Set by step_graph while it captures a step: scratch may not grow then.
  bool capturing = false;
  execution_status* status = nullptr;  // device memory, in readback()
  /// The status and a value slot beside it (device memory), for reading both in one copy.
  readback_block* readback() {
    return readback_;
  }
  /// How many results the host has read (device_result::read: each a wait for the stream), so
  /// that a test can hold a loop to the waits it means to make.
  std::size_t results_read = 0;
  /// Words for a failed status (the network sets it: it knows its layers' names).
  std::string (*describe)(const execution_status&) = nullptr;

 private:
  /// buffer, of `size` bytes, made at least `bytes` long (waiting for the stream before the old
  /// one is freed, since enqueued work may still read it). Never while a step graph is being
  /// captured: the graph would keep the freed pointer, and a capture cannot wait or allocate.
  void* grow(void*& buffer, std::size_t& size, std::size_t bytes) {
    if (bytes > size) {
      if (capturing)
        throw cuda_error("agd::cuda: a step captured in a CUDA graph needs " +
                         std::to_string(bytes) + " bytes of scratch, more than the " +
                         std::to_string(size) +
                         " its warm-up step sized, and a graph cannot allocate (it would keep "
                         "the freed buffer); warm up with the largest step the graph runs");
      if (buffer) {
#if AGD_CUDA_DEVICE
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
#endif
        device_free(buffer);
        buffer = nullptr;
        size = 0;
      }
      buffer = device_allocate(bytes);
      size = bytes;
    }
    return buffer;
  }

  static constexpr std::size_t blas_workspace_bytes = std::size_t(32) << 20;  // Hopper's advice
  gemm_options options_{};
  readback_block* readback_ = nullptr;
  void* blas_workspace_ = nullptr;
  void* scratch_ = nullptr;
  std::size_t scratch_bytes_ = 0;
  void* operand_scratch_ = nullptr;
  std::size_t operand_scratch_bytes_ = 0;
};

enum class copy_kind { host_to_device, device_to_host, device_to_device };

/// An asynchronous copy on the context's stream. (From or to pageable host memory, CUDA returns
/// once the host side has been read or written, so the host buffer may be reused at once.)
inline void copy_bytes(execution_context& ctx, void* to, const void* from, std::size_t bytes,
                       copy_kind kind) {
  if (bytes == 0) return;
#if AGD_CUDA_DEVICE
  const cudaMemcpyKind direction = kind == copy_kind::host_to_device   ? cudaMemcpyHostToDevice
                                   : kind == copy_kind::device_to_host ? cudaMemcpyDeviceToHost
                                                                       : cudaMemcpyDeviceToDevice;
  check(cudaMemcpyAsync(to, from, bytes, direction, ctx.stream), "cudaMemcpyAsync");
#else
  (void)ctx;
  (void)kind;
  std::memmove(to, from, bytes);
#endif
}

inline void stream_synchronize(execution_context& ctx) {
#if AGD_CUDA_DEVICE
  check(cudaStreamSynchronize(ctx.stream), "cudaStreamSynchronize");
#else
  (void)ctx;
#endif
}

namespace detail {
/// to[j * ld_to + i] = from[j * ld_from + i] rounded to bfloat16, for a rows x cols matrix, one
/// element per index (a kernel on the device).
struct round_columns_to_bf16 {
  const float* from;
  std::size_t ld_from, rows;
  bf16* to;
  std::size_t ld_to;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / rows, i = e % rows;
    to[j * ld_to + i] = to_bf16(from[j * ld_from + i]);
  }
};
}  // namespace detail

/// The float GEMM of a bf16 network: A and B as stored (column-major, with their leading
/// dimensions) rounded to bfloat16 into the context's operand scratch, multiplied with float
/// sums into the float C. k > 0.
inline void gemm_bf16(execution_context& ctx, bool transpose_a, bool transpose_b, std::size_t m,
                      std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
                      const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  // A and B as stored: op(A) is m x k, op(B) k x n.
  const std::size_t a_rows = transpose_a ? k : m, a_cols = transpose_a ? m : k;
  const std::size_t b_rows = transpose_b ? n : k, b_cols = transpose_b ? k : n;
#if AGD_CUDA_DEVICE
  // Leading dimensions in multiples of 8 values and B 256 bytes in: what tensor cores read best
  // (the padding rows are never read).
  const auto round_up = [](std::size_t v, std::size_t to) { return (v + to - 1) / to * to; };
  const std::size_t a_ld = round_up(a_rows, 8), b_ld = round_up(b_rows, 8);
  const std::size_t b_offset = round_up(a_ld * a_cols, 128);
  bf16* const a_rounded =
      static_cast<bf16*>(ctx.operand_scratch((b_offset + b_ld * b_cols) * sizeof(bf16)));
  bf16* const b_rounded = a_rounded + b_offset;
  const auto policy = thrust::cuda::par_nosync.on(ctx.stream);
  thrust::for_each_n(policy, thrust::counting_iterator<std::size_t>(0), a_rows * a_cols,
                     detail::round_columns_to_bf16{a, lda, a_rows, a_rounded, a_ld});
  thrust::for_each_n(policy, thrust::counting_iterator<std::size_t>(0), b_rows * b_cols,
                     detail::round_columns_to_bf16{b, ldb, b_rows, b_rounded, b_ld});
  check(cublasGemmEx(ctx.blas, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                     transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, int(m), int(n), int(k), &alpha,
                     a_rounded, CUDA_R_16BF, int(a_ld), b_rounded, CUDA_R_16BF, int(b_ld), &beta, c,
                     CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx (bf16 inputs, fp32 compute)");
#else
  // Thrust's host system: the same numbers as a GPU's bf16 GEMM, A and B rounded to bfloat16
  // (kept as floats, which hold them exactly) and multiplied by the CPU backend's fp32 GEMM.
  // This path exists so that the CPU-only CI checks the rest of the bf16 CUDA path (the
  // precision in the type and the context, the rounded operands with their leading dimensions,
  // every layer's GEMMs through it); it is not a fast path. The CPU context stays native: no
  // bf16 instructions are needed (CI's CPU may lack them), and nothing is rounded twice.
  float* const a_rounded =
      static_cast<float*>(ctx.operand_scratch((a_rows * a_cols + b_rows * b_cols) * sizeof(float)));
  float* const b_rounded = a_rounded + a_rows * a_cols;
  const auto round = [](const float* from, std::size_t ld, std::size_t rows, std::size_t cols,
                        float* to) {
    for (std::size_t j = 0; j < cols; ++j)
      for (std::size_t i = 0; i < rows; ++i) to[j * rows + i] = round_to_bf16(from[j * ld + i]);
  };
  round(a, lda, a_rows, a_cols, a_rounded);
  round(b, ldb, b_rows, b_cols, b_rounded);
  eigen::cpu::gemm(ctx.host, transpose_a, transpose_b, m, n, k, alpha,
                   static_cast<const float*>(a_rounded), a_rows,
                   static_cast<const float*>(b_rounded), b_rows, beta, c, ldc);
#endif
}

/// BLAS's GEMM, column-major: C (m x n) = alpha op(A) op(B) + beta C, on the context's stream.
/// A float GEMM of a bf16 network multiplies bf16-rounded A and B (gemm_bf16).
template <class S>
void gemm(execution_context& ctx, bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
          std::size_t k, S alpha, const S* a, std::size_t lda, const S* b, std::size_t ldb, S beta,
          S* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<S, float>) {
    // (With k = 0 nothing is multiplied: C = beta C, as in fp32.)
    if (ctx.precision == compute_precision::bf16 && k > 0) {
      gemm_bf16(ctx, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    }
  }
#if AGD_CUDA_DEVICE
  const cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (std::is_same_v<S, float>)
    check(cublasSgemm(ctx.blas, op_a, op_b, int(m), int(n), int(k), &alpha, a, int(lda), b,
                      int(ldb), &beta, c, int(ldc)),
          "cublasSgemm");
  else
    check(cublasDgemm(ctx.blas, op_a, op_b, int(m), int(n), int(k), &alpha, a, int(lda), b,
                      int(ldb), &beta, c, int(ldc)),
          "cublasDgemm");
#else
  eigen::cpu::gemm(ctx.host, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                   ldc);
#endif
}

}  // namespace agd::cuda
