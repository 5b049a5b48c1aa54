// Median wall time of one AGD training step (forward, MSE loss, backward, AGD update) of the
// main example's network, depth 4 width 512, on batches of 128, and its GFLOP/s against the
// machine's single-GEMM throughput measured the same way.
//
//   build/bench/bench_step_time --threads 2
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sweep.hpp"

namespace {

using Net = agd_bench::main_fcn;
using clock_type = std::chrono::steady_clock;

using agd_bench::median;

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, steps = 300, warmup = 20;
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
    else {
      std::fprintf(stderr,
                   "usage: bench_step_time [--threads N (0: all cores)] [--steps N] [--warmup N] "
                   "[--batch N]\nunknown flag: %s\n",
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

  const agd::data::dataset data = agd_bench::random_dataset(Net::input_size, batch);
  const std::size_t samples = data.size();

  Net net(batch);
  agd::AGD optimizer(net, {.seed = 0});
  agd::data::batch_sampler sampler(samples, batch, 0);
  std::vector<std::int32_t> labels(batch);
  std::span<const std::size_t> indices;
  std::vector<double> step_ms;
  sampler.start_epoch();
  for (int s = 0; s < warmup + steps; ++s) {
    if (!sampler.next(indices)) {
      sampler.start_epoch();
      sampler.next(indices);
    }
    agd::data::gather_batch(data, indices, net.input_buffer(), std::span<std::int32_t>(labels));
    const auto start = clock_type::now();
    agd::train::train_step<agd::MSELoss>(net, optimizer, std::span<const std::int32_t>(labels));
    const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
    if (s >= warmup) step_ms.push_back(ms);
  }
  const double median_ms = median(step_ms);
  const double min_ms = *std::min_element(step_ms.begin(), step_ms.end());
  const double gflops = agd_bench::step_flops<Net>(batch) / (median_ms * 1e-3) / 1e9;
  const double roof = agd_bench::gemm_gflops(2048, 10);
  std::printf(
      "agd step, depth 4 width 512 batch %zu, %s GEMM, %d threads: median %.3f ms "
      "(min %.3f), %.1f GFLOP/s = %.0f%% of this machine's %.1f GFLOP/s GEMM roof\n",
      batch, agd::gemm_backend().c_str(), used_threads, median_ms, min_ms, gflops,
      100 * gflops / roof, roof);
  std::printf(
      "agd_step_ms median=%.4f min=%.4f gflops=%.2f gemm_gflops=%.2f threads=%d "
      "batch=%zu backend=%s\n",
      median_ms, min_ms, gflops, roof, used_threads, batch, agd::gemm_backend().c_str());
  return 0;
}
