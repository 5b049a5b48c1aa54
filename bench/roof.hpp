// What a step is measured against, in the same run: the fastest GEMM this machine has (oneDNN's
// and Eigen's, both shown), and the machine's peak, measured rather than taken from a data sheet.
//
// - Eigen: a square single-precision GEMM split by columns over agd's pool, each part
//   single-threaded (how the Eigen engine runs a step's GEMMs).
// - oneDNN: the same GEMM as oneDNN's own multi-threaded sgemm (its OpenMP threads, its own
//   split: the library at its best), and as agd's oneDNN engine runs it (a matmul primitive per
//   part on agd's pool). The better of the two is oneDNN's figure.
// - Peak: every thread of the pool runs independent fused multiply-adds on registers only, as
//   wide as the compiler was allowed (-march=native: AVX-512 or AVX2), 12 chains, so that each
//   FMA unit is busy every cycle: cores x FMA units x lanes x 2 x the clock the cores actually
//   ran at, measured as a whole. No GEMM can beat it.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <agd/agd.hpp>

#ifdef AGD_WITH_ONEDNN
#include <omp.h>
#endif

namespace agd_bench {

/// GFLOP/s of a size^3 float GEMM split by columns over agd's pool, each part Eigen's
/// single-threaded GEMM, best of `repeats`.
inline double eigen_gemm_gflops(long size, int repeats) {
  using clock_type = std::chrono::steady_clock;
  const Eigen::Index n = size;
  agd::matrix<float> a = agd::matrix<float>::Random(n, n), b = agd::matrix<float>::Random(n, n);
  agd::matrix<float> c(n, n);
  auto multiply = [&] {
    agd::cpu_pool().run([&](unsigned thread, unsigned threads) {
      const auto [first, count] = agd::split_range(n, thread, threads, 16);
      c.middleCols(first, count).noalias() = a * b.middleCols(first, count);
    });
  };
  multiply();
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = clock_type::now();
    multiply();
    best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
  }
  return 2.0 * double(n) * double(n) * double(n) / best / 1e9;
}

struct onednn_gemm_figures {
  double own_threads = 0;  // dnnl_sgemm on oneDNN's OpenMP threads
  double agd_pool = 0;     // matmul primitives on agd's pool, as the engine runs them
  double best() const { return std::max(own_threads, agd_pool); }
};

/// oneDNN's size^3 float GEMM both ways (zeros where agd is built without oneDNN).
inline onednn_gemm_figures onednn_gemm_gflops(long size, int repeats, int threads) {
  onednn_gemm_figures figures;
#ifdef AGD_WITH_ONEDNN
  using clock_type = std::chrono::steady_clock;
  const Eigen::Index n = size;
  agd::matrix<float> a = agd::matrix<float>::Random(n, n), b = agd::matrix<float>::Random(n, n);
  agd::matrix<float> c(n, n);
  const double flops = 2.0 * double(n) * double(n) * double(n);
  const auto best_of = [&](auto&& multiply) {
    multiply();
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      const auto start = clock_type::now();
      multiply();
      best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
    }
    return flops / best / 1e9;
  };
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  figures.own_threads = best_of(
      [&] { dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); });
  omp_set_num_threads(saved);
  agd::eigen::cpu::context context;
  figures.agd_pool = best_of([&] {
    agd::cpu_pool().run([&](unsigned thread, unsigned count) {
      const auto [first, cols] = agd::split_range(n, thread, count, 16);
      agd::eigen::cpu::gemm<float>(context, false, false, std::size_t(n), std::size_t(cols),
                                   std::size_t(n), 1.0f, a.data(), std::size_t(n),
                                   b.data() + first * n, std::size_t(n), 0.0f, c.data() + first * n,
                                   std::size_t(n));
    });
  });
#else
  (void)size, (void)repeats, (void)threads;
#endif
  return figures;
}

/// The FMA loop of one thread: 12 independent chains of `lanes`-wide FMAs, `iterations` times.
/// Returns a value depending on every chain, so that none is optimised away.
inline float fma_chains(long iterations, int& lanes) {
#if defined(__AVX512F__)
  lanes = 16;
  __m512 acc[12];
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-3f);
  for (auto& v : acc) v = _mm512_set1_ps(1.0f);
  for (long i = 0; i < iterations; ++i)
    for (auto& v : acc) v = _mm512_fmadd_ps(v, x, y);
  __m512 sum = acc[0];
  for (int k = 1; k < 12; ++k) sum = _mm512_add_ps(sum, acc[k]);
  return _mm512_reduce_add_ps(sum);
#elif defined(__AVX2__) && defined(__FMA__)
  lanes = 8;
  __m256 acc[12];
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-3f);
  for (auto& v : acc) v = _mm256_set1_ps(1.0f);
  for (long i = 0; i < iterations; ++i)
    for (auto& v : acc) v = _mm256_fmadd_ps(v, x, y);
  __m256 sum = acc[0];
  for (int k = 1; k < 12; ++k) sum = _mm256_add_ps(sum, acc[k]);
  float parts[8];
  _mm256_storeu_ps(parts, sum);
  float total = 0;
  for (float p : parts) total += p;
  return total;
#else
  lanes = 1;
  float acc[12];
  for (auto& v : acc) v = 1.0f;
  for (long i = 0; i < iterations; ++i)
    for (auto& v : acc) v = v * 0.999f + 1e-3f;
  float total = 0;
  for (float v : acc) total += v;
  return total;
#endif
}

struct peak_figure {
  double gflops = 0;
  std::string how;
};

/// The measured FMA peak of the pool's threads together (best of 5 runs of ~50 ms each).
inline peak_figure fma_peak(int threads) {
  using clock_type = std::chrono::steady_clock;
  const long iterations = 4'000'000;
  int lanes = 1;
  volatile float sink = 0;
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto start = clock_type::now();
    agd::cpu_pool().run([&](unsigned, unsigned) {
      int my_lanes = 1;
      const float value = fma_chains(iterations, my_lanes);
      sink = value;
      lanes = my_lanes;
    });
    best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
  }
  (void)sink;
  const double flops = 2.0 * 12 * double(lanes) * double(iterations) * threads;
  peak_figure peak;
  peak.gflops = flops / best / 1e9;
  peak.how = std::to_string(threads) + " threads x 12 independent " + std::to_string(lanes) +
             "-lane FMA chains, measured";
  return peak;
}

/// One line with every roof, in the key=value form the scripts read:
/// `roof size=.. eigen_gflops=.. onednn_gflops=.. onednn_own_threads=.. onednn_agd_pool=..
/// peak_gflops=.. threads=..`; returns the fastest GEMM's GFLOP/s.
inline double print_roofs(long size, int threads) {
  const double eigen = eigen_gemm_gflops(size, 10);
  const onednn_gemm_figures onednn = onednn_gemm_gflops(size, 10, threads);
  const peak_figure peak = fma_peak(threads);
  std::printf(
      "roof size=%ld eigen_gflops=%.2f onednn_gflops=%.2f onednn_own_threads=%.2f "
      "onednn_agd_pool=%.2f peak_gflops=%.2f threads=%d peak_how=\"%s\"\n",
      size, eigen, onednn.best(), onednn.own_threads, onednn.agd_pool, peak.gflops, threads,
      peak.how.c_str());
  return std::max(eigen, onednn.best());
}

}  // namespace agd_bench
