// The CUDA runtime calls the CUDA backend makes, in one place: device memory, the stream,
// copies, cuBLAS, and the execution_context a network owns. Built for Thrust's host (CPP)
// device system, each has a host stand-in (memory from the heap, copies with memcpy, the GEMM
// through the CPU backend's Eigen call with cuBLAS's arguments), so that everything above it
// runs in the CPU-only CI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include <thrust/execution_policy.h>

#include "agd/core/status.hpp"

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#define AGD_CUDA_DEVICE 1
#include <cublas_v2.h>
#include <cuda_runtime.h>
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
  /// Ampere and later, and no longer bit-comparable with the CPU; off by default.
  bool tf32 = false;
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
    status = static_cast<execution_status*>(device_allocate(sizeof(execution_status)));
    device_zero(status, sizeof(execution_status));
  }
  ~execution_context() {
#if AGD_CUDA_DEVICE
    if (stream) cudaStreamSynchronize(stream);
    if (blas) cublasDestroy(blas);
    if (blas_workspace_) device_free(blas_workspace_);
    if (stream) cudaStreamDestroy(stream);
#endif
    if (scratch_) device_free(scratch_);
    if (status) device_free(status);
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
    if (bytes > scratch_bytes_) {
      if (scratch_) {
#if AGD_CUDA_DEVICE
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
#endif
        device_free(scratch_);
      }
      scratch_ = device_allocate(bytes);
      scratch_bytes_ = bytes;
    }
    return scratch_;
  }

#if AGD_CUDA_DEVICE
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
#else
  /// On Thrust's host system, the GEMMs run on the CPU backend's (its oneDNN primitives are
  /// made once, here, rather than at every call).
  eigen::cpu::context host;
#endif
  execution_status* status = nullptr;  // device memory
  /// Words for a failed status (the network sets it: it knows its layers' names).
  std::string (*describe)(const execution_status&) = nullptr;

 private:
  static constexpr std::size_t blas_workspace_bytes = std::size_t(32) << 20;  // Hopper's advice
  gemm_options options_{};
  void* blas_workspace_ = nullptr;
  void* scratch_ = nullptr;
  std::size_t scratch_bytes_ = 0;
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

/// BLAS's GEMM, column-major: C (m x n) = alpha op(A) op(B) + beta C, on the context's stream.
template <class S>
void gemm(execution_context& ctx, bool transpose_a, bool transpose_b, std::size_t m, std::size_t n,
          std::size_t k, S alpha, const S* a, std::size_t lda, const S* b, std::size_t ldb, S beta,
          S* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
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
