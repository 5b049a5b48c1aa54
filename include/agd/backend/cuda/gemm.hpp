// The one GEMM the GPU backend needs, with BLAS's column-major semantics:
//   C (m x n) = op(A) op(B) + beta C,  op(X) = X or X^T,  leading dimensions lda, ldb, ldc.
// Built by nvcc for CUDA it calls cublasSgemm (FP32, or TF32 tensor cores when asked for);
// built for Thrust's host system (the CPU-only CI) it runs the same call on the CPU through
// Eigen maps, so the host-side tests check every transpose and leading dimension the network
// passes.
#pragma once

#include <stdexcept>
#include <string>

#include <thrust/device_vector.h>

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#include <cublas_v2.h>
#else
#include <Eigen/Core>
#endif

namespace agd::cuda {

struct gemm_options {
  /// TensorFloat-32 tensor-core GEMMs (10-bit mantissa inputs, FP32 accumulation): faster on
  /// Ampere and later, and no longer bit-comparable with the CPU; off by default.
  bool tf32 = false;
};

#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA

inline void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("agd::cuda: ") + what + " failed with cuBLAS status " +
                             std::to_string(int(status)));
}

/// An owned cuBLAS handle (RAII).
class gemm_engine {
 public:
  explicit gemm_engine(gemm_options options = {}) {
    check_cublas(cublasCreate(&handle_), "cublasCreate");
    check_cublas(
        cublasSetMathMode(handle_, options.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
        "cublasSetMathMode");
  }
  ~gemm_engine() { cublasDestroy(handle_); }
  gemm_engine(const gemm_engine&) = delete;
  gemm_engine& operator=(const gemm_engine&) = delete;

  void operator()(bool transpose_a, bool transpose_b, int m, int n, int k, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc) {
    const float alpha = 1.0f;
    check_cublas(cublasSgemm(handle_, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                             transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, a, lda, b,
                             ldb, &beta, c, ldc),
                 "cublasSgemm");
  }

 private:
  cublasHandle_t handle_{};
};

#else

/// The host-system stand-in: the same call through Eigen.
class gemm_engine {
 public:
  explicit gemm_engine(gemm_options = {}) {}
  void operator()(bool transpose_a, bool transpose_b, int m, int n, int k, const float* a, int lda,
                  const float* b, int ldb, float beta, float* c, int ldc) {
    using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
    using map = Eigen::Map<const matrix, 0, Eigen::OuterStride<>>;
    const map a_stored(a, transpose_a ? k : m, transpose_a ? m : k, Eigen::OuterStride<>(lda));
    const map b_stored(b, transpose_b ? n : k, transpose_b ? k : n, Eigen::OuterStride<>(ldb));
    Eigen::Map<matrix, 0, Eigen::OuterStride<>> c_map(c, m, n, Eigen::OuterStride<>(ldc));
    matrix product;
    if (transpose_a && transpose_b)
      product = a_stored.transpose() * b_stored.transpose();
    else if (transpose_a)
      product = a_stored.transpose() * b_stored;
    else if (transpose_b)
      product = a_stored * b_stored.transpose();
    else
      product = a_stored * b_stored;
    if (beta == 0.0f)
      c_map = product;
    else
      c_map = beta * c_map + product;
  }
};

#endif

}  // namespace agd::cuda
