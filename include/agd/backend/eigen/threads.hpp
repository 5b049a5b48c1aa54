// Thread count of the CPU backend. Every parallel region of a training step runs on one
// persistent agd::thread_pool (see thread_pool.hpp for why), and each part calls a
// single-threaded GEMM: Eigen's own kernels, or OpenBLAS through EIGEN_USE_BLAS when the library
// is built with AGD_USE_OPENBLAS (the default, see docs/cpu-gemm.md).
#pragma once

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include <Eigen/Core>

#include "agd/backend/eigen/thread_pool.hpp"

#ifdef AGD_USE_OPENBLAS
extern "C" {
void openblas_set_num_threads(int);
}
#endif

namespace agd {

/// The GEMM library compiled in: "openblas" or "eigen".
inline std::string gemm_backend() {
#ifdef AGD_USE_OPENBLAS
  return "openblas";
#else
  return "eigen";
#endif
}

namespace detail {
inline unsigned default_thread_count() {
  return std::clamp(std::thread::hardware_concurrency(), 1u, thread_pool::max_threads);
}
/// The GEMM libraries must not start threads of their own inside the pool's parts.
inline void make_gemm_single_threaded() {
#ifdef AGD_USE_OPENBLAS
  openblas_set_num_threads(1);
#endif
  Eigen::setNbThreads(1);
}
}  // namespace detail

/// The pool that runs the CPU backend's parallel regions; one thread per core until
/// set_threads() says otherwise.
inline thread_pool& cpu_pool() {
  static thread_pool pool = [] {
    detail::make_gemm_single_threaded();
    return thread_pool(detail::default_thread_count());
  }();
  return pool;
}

/// Uses `threads` threads for training (0: one per hardware thread).
inline void set_threads(int threads) {
  if (threads < 0)
    throw std::invalid_argument("agd::set_threads: the thread count must be >= 0, got " +
                                std::to_string(threads));
  const unsigned count = threads == 0 ? detail::default_thread_count() : unsigned(threads);
  if (count > thread_pool::max_threads)
    throw std::invalid_argument("agd::set_threads: at most " +
                                std::to_string(thread_pool::max_threads) + " threads, got " +
                                std::to_string(threads));
  cpu_pool().resize(count);
  detail::make_gemm_single_threaded();
}

/// The number of threads training uses.
inline unsigned threads() {
  return cpu_pool().size();
}

}  // namespace agd
