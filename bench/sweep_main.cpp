// bench_sweep: median wall time and GFLOP/s of one AGD training step (forward, MSE loss,
// backward, AGD update) for each requested shape of the paper's FCN (784 inputs, 10 outputs,
// Sqrt2Relu), and the machine's GEMM roof measured on the same thread pool.
//
//   build-bench/bench/bench_sweep --threads 2 --shapes 4:512:128,32:512:128 [--roof]
//   build-bench/bench/bench_sweep --list
//
// One line per shape, `agd_shape depth=.. width=.. batch=.. params=.. flops=.. median_ms=..
// min_ms=.. steps=.. gflops=..`, and with --roof one line `gemm_roof size=.. gflops=..`.
// bench/run_benchmarks.sh runs it against bench/pytorch_agd.py shape by shape.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "sweep.hpp"

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "usage: bench_sweep [--threads N (0: all cores)] [--shapes D:W:B,D:W:B,...] "
               "[--roof] [--roof-size N] [--list]\n"
               "       [--warmup N] [--max-steps N] [--min-steps N] [--max-seconds S]\n"
               "bench_sweep: %s\n",
               problem.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<agd_bench::registered_shape> shapes;
  agd_bench::add_width_shapes(shapes);
  agd_bench::add_depth_shapes_shallow(shapes);
  agd_bench::add_depth_shapes_16(shapes);
  agd_bench::add_depth_shapes_32(shapes);

  const agd_bench::bench_flags flags = agd_bench::parse_bench_flags(argc, argv, "--shapes", usage);
  if (flags.list) {
    for (const auto& s : shapes) std::printf("depth=%zu width=%zu\n", s.depth, s.width);
    return 0;
  }
  const int used_threads = agd_bench::start_threads(flags.threads);

  std::stringstream entries(flags.runs);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    if (entry.empty()) continue;
    std::size_t depth = 0, width = 0, batch = 0;
    if (std::sscanf(entry.c_str(), "%zu:%zu:%zu", &depth, &width, &batch) != 3 || batch == 0)
      usage("a shape is DEPTH:WIDTH:BATCH, not '" + entry + "'");
    const auto found = std::find_if(shapes.begin(), shapes.end(), [&](const auto& s) {
      return s.depth == depth && s.width == width;
    });
    if (found == shapes.end())
      usage("depth " + std::to_string(depth) + " width " + std::to_string(width) +
            " is not compiled in (--list shows those that are; add it to a sweep_*.cpp)");
    const auto r = found->run(batch, flags.timing);
    std::printf(
        "agd_shape depth=%zu width=%zu batch=%zu params=%zu flops=%.0f median_ms=%.4f "
        "min_ms=%.4f steps=%d gflops=%.2f\n",
        r.depth, r.width, r.batch, r.parameters, r.flops, r.median_ms, r.min_ms, r.steps,
        r.flops / (r.median_ms * 1e-3) / 1e9);
    std::fflush(stdout);
  }
  if (flags.roof) {
    const double fastest = agd_bench::print_roofs(flags.roof_size, used_threads);
    std::printf(
        "gemm_roof size=%ld gflops=%.2f threads=%d (the fastest GEMM: oneDNN's or Eigen's)\n",
        flags.roof_size, fastest, used_threads);
  }
  return 0;
}
