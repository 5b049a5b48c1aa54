// Median wall time of one AGD training step (forward, MSE loss, backward, AGD update) of the
// main example's network, depth 4 width 512, on batches of 128, against, in the same run:
// - the step's own GEMMs alone (the 11 of them: 4 forward, 3 input gradients, 4 weight
//   gradients), run on the CPU engine the way the network splits them between threads, so
//   that step / GEMMs is what everything but the GEMMs costs;
// - the roofs of bench/roof.hpp: the fastest square GEMM (oneDNN's and Eigen's) and the
//   machine's measured FMA peak.
//
//   build/bench/bench_step_time --threads 2
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "sweep.hpp"

namespace {

using Net = agd_bench::main_fcn;
using clock_type = std::chrono::steady_clock;

using agd_bench::median;

/// Median time of the GEMMs of one training step of Net at batch n alone, on the CPU engine
/// (agd::eigen::cpu::gemm: oneDNN's matmul or Eigen's GEMM), split between the pool's threads
/// as the network splits them: forward and input gradients by samples, weight gradients by
/// columns of dW. The same buffers every time, no element-wise work, no AGD.
double step_gemms_ms(std::size_t n, int repeats, agd::compute_precision precision) {
  constexpr std::size_t L = Net::depth;
  std::vector<agd::matrix<float>> w, x, dy, dx, dw;
  for (std::size_t k = 0; k < L; ++k) {
    const auto rows = Eigen::Index(Net::weight_rows[k]), cols = Eigen::Index(Net::weight_cols[k]);
    w.push_back(agd::matrix<float>::Random(rows, cols));
    dw.push_back(agd::matrix<float>::Zero(rows, cols));
    x.push_back(agd::matrix<float>::Random(cols, Eigen::Index(n)));
    dy.push_back(agd::matrix<float>::Random(rows, Eigen::Index(n)));
    dx.push_back(agd::matrix<float>::Zero(cols, Eigen::Index(n)));
  }
  std::vector<agd::matrix<float>> y = dy;
  agd::eigen::cpu::context context;
  agd::eigen::cpu::set_compute_precision(context, precision);
  using agd::eigen::cpu;
  const auto step = [&] {
    agd::cpu_pool().run([&](unsigned thread, unsigned threads) {
      const auto [first, count] = agd::split_range(std::ptrdiff_t(n), thread, threads);
      if (count == 0) return;
      for (std::size_t k = 0; k < L; ++k)
        cpu::gemm<float>(context, false, false, Net::weight_rows[k], std::size_t(count),
                         Net::weight_cols[k], 1.0f, w[k].data(), Net::weight_rows[k],
                         x[k].data() + first * x[k].rows(), Net::weight_cols[k], 0.0f,
                         y[k].data() + first * y[k].rows(), Net::weight_rows[k]);
      for (std::size_t k = L; k-- > 1;)
        cpu::gemm<float>(context, true, false, Net::weight_cols[k], std::size_t(count),
                         Net::weight_rows[k], 1.0f, w[k].data(), Net::weight_rows[k],
                         dy[k].data() + first * dy[k].rows(), Net::weight_rows[k], 0.0f,
                         dx[k].data() + first * dx[k].rows(), Net::weight_cols[k]);
    });
    agd::cpu_pool().run([&](unsigned thread, unsigned threads) {
      for (std::size_t k = 0; k < L; ++k) {
        const auto [first, count] =
            agd::split_range(std::ptrdiff_t(Net::weight_cols[k]), thread, threads, 16);
        if (count == 0) continue;
        cpu::gemm<float>(context, false, true, Net::weight_rows[k], std::size_t(count), n, 1.0f,
                         dy[k].data(), Net::weight_rows[k], x[k].data() + first,
                         Net::weight_cols[k], 0.0f, dw[k].data() + first * dw[k].rows(),
                         Net::weight_rows[k]);
      }
    });
  };
  std::vector<double> ms;
  for (int r = 0; r < repeats + 20; ++r) {
    const auto start = clock_type::now();
    step();
    if (r >= 20)
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, steps = 300, warmup = 20;
  bool bf16 = false;
  std::size_t batch = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_step_time: %s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--threads")
      threads = std::atoi(value());
    else if (flag == "--steps")
      steps = std::atoi(value());
    else if (flag == "--warmup")
      warmup = std::atoi(value());
    else if (flag == "--batch")
      batch = std::size_t(std::atol(value()));
    else if (flag == "--precision") {
      const std::string precision = value();
      if (precision != "fp32" && precision != "bf16") {
        std::fprintf(stderr, "bench_step_time: --precision is fp32 or bf16\n");
        return 2;
      }
      bf16 = precision == "bf16";
    } else {
      std::fprintf(stderr,
                   "usage: bench_step_time [--threads N (0: all cores)] [--steps N] [--warmup N] "
                   "[--batch N] [--precision fp32|bf16]\nunknown flag: %s\n",
                   flag.c_str());
      return 2;
    }
  }
  if (steps < 1 || batch < 1) {
    std::fprintf(stderr, "bench_step_time: --steps and --batch must be positive\n");
    return 2;
  }
  agd::set_threads(threads);
  const int used_threads = threads ? threads : int(std::thread::hardware_concurrency());

  // Exactly `steps` timed steps after `warmup`, whatever they take.
  const agd_bench::timing_options timing{.warmup = warmup,
                                         .max_steps = steps,
                                         .min_steps = steps,
                                         .max_seconds = std::numeric_limits<double>::infinity()};
  const agd_bench::shape_result timed =
      bf16 ? agd_bench::time_agd_step<Net::with_precision<agd::bf16>>(batch, timing)
           : agd_bench::time_agd_step<Net>(batch, timing);
  const double median_ms = timed.median_ms;
  const double min_ms = timed.min_ms;
  const double gflops = agd_bench::step_flops<Net>(batch) / (median_ms * 1e-3) / 1e9;
  const double gemms_ms = step_gemms_ms(
      batch, steps, bf16 ? agd::compute_precision::bf16 : agd::compute_precision::native);
  const double roof = agd_bench::print_roofs(2048, used_threads);
  const std::string engine = agd::eigen::cpu::engine() + (bf16 ? ", bf16" : "");
  std::printf(
      "agd step, depth 4 width 512 batch %zu, %s engine, %d threads: median %.3f ms (min %.3f), "
      "%.1f GFLOP/s; its GEMMs alone %.3f ms (the step takes %.2fx their time, they are %.0f%% "
      "of it); %.0f%% of the fastest 2048^3 GEMM's %.1f GFLOP/s\n",
      batch, engine.c_str(), used_threads, median_ms, min_ms, gflops, gemms_ms,
      median_ms / gemms_ms, 100 * gemms_ms / median_ms, 100 * gflops / roof, roof);
  std::printf(
      "agd_step_ms median=%.4f min=%.4f gflops=%.2f step_gemms_ms=%.4f gemm_gflops=%.2f "
      "threads=%d batch=%zu engine=%s\n",
      median_ms, min_ms, gflops, gemms_ms, roof, used_threads, batch, engine.c_str());
  return 0;
}
