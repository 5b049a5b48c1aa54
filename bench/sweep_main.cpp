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

  int threads = 0;
  bool roof = false, list = false;
  long roof_size = 2048;
  std::string shape_list;
  agd_bench::timing_options timing;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--threads")
      threads = std::atoi(value().c_str());
    else if (flag == "--shapes")
      shape_list = value();
    else if (flag == "--roof")
      roof = true;
    else if (flag == "--roof-size")
      roof_size = std::atol(value().c_str());
    else if (flag == "--list")
      list = true;
    else if (flag == "--warmup")
      timing.warmup = std::atoi(value().c_str());
    else if (flag == "--max-steps")
      timing.max_steps = std::atoi(value().c_str());
    else if (flag == "--min-steps")
      timing.min_steps = std::atoi(value().c_str());
    else if (flag == "--max-seconds")
      timing.max_seconds = std::atof(value().c_str());
    else
      usage("unknown flag " + flag);
  }
  if (timing.warmup < 0 || timing.min_steps < 1 || timing.max_steps < timing.min_steps ||
      roof_size < 16)
    usage("need --warmup >= 0, 1 <= --min-steps <= --max-steps, --roof-size >= 16");
  if (list) {
    for (const auto& s : shapes) std::printf("depth=%zu width=%zu\n", s.depth, s.width);
    return 0;
  }
  agd::set_threads(threads);
  const int used_threads = threads ? threads : int(std::thread::hardware_concurrency());
  std::printf("# agd %s GEMM, %d threads\n", agd::gemm_backend().c_str(), used_threads);
  std::fflush(stdout);

  std::stringstream entries(shape_list);
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
    const auto r = found->run(batch, timing);
    std::printf(
        "agd_shape depth=%zu width=%zu batch=%zu params=%zu flops=%.0f median_ms=%.4f "
        "min_ms=%.4f steps=%d gflops=%.2f\n",
        r.depth, r.width, r.batch, r.parameters, r.flops, r.median_ms, r.min_ms, r.steps,
        r.flops / (r.median_ms * 1e-3) / 1e9);
    std::fflush(stdout);
  }
  if (roof)
    std::printf("gemm_roof size=%ld gflops=%.2f threads=%d\n", roof_size,
                agd_bench::gemm_gflops(Eigen::Index(roof_size), 10), used_threads);
  return 0;
}
