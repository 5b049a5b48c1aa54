// AGD_HOST_DEVICE marks the functions that both backends run: the element-wise maths of the
// layers, losses and optimisers, the AGD scalars and the index maps of the memory layouts.
// Compiled by nvcc they become __host__ __device__ functions (so a CUDA kernel can call them);
// compiled by a host compiler, ordinary inline functions.
#pragma once

#if defined(__CUDACC__)
#define AGD_HOST_DEVICE __host__ __device__
#else
#define AGD_HOST_DEVICE
#endif

#include <cmath>

namespace agd::math {

// The few math functions the shared maths needs, callable from host and device code alike (in
// device code the CUDA math library's overloads, on the host the standard library's).
template <class T>
AGD_HOST_DEVICE inline T sqrt(T x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}
template <class T>
AGD_HOST_DEVICE inline T exp(T x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
template <class T>
AGD_HOST_DEVICE inline T log(T x) {
#if defined(__CUDA_ARCH__)
  return ::log(x);
#else
  return std::log(x);
#endif
}
template <class T>
AGD_HOST_DEVICE inline T tanh(T x) {
#if defined(__CUDA_ARCH__)
  return ::tanh(x);
#else
  return std::tanh(x);
#endif
}
template <class T>
AGD_HOST_DEVICE inline T pow(T x, T y) {
#if defined(__CUDA_ARCH__)
  return ::pow(x, y);
#else
  return std::pow(x, y);
#endif
}
/// True for every value but NaN and +-Inf (x - x is 0 exactly then), without <cmath>'s
/// isfinite, which device code and -ffast-math treat differently.
template <class T>
AGD_HOST_DEVICE constexpr bool is_finite(T x) {
  return x - x == T(0);
}

}  // namespace agd::math
