// bench_cnn: median wall time and GFLOP/s of one AGD training step (forward, MSE loss, backward,
// AGD update) of the convolutional networks of examples/cnn_models.hpp, and the machine's GEMM
// roof measured on the same thread pool. bench/cnn_compare.sh runs it against the same
// networks and the same AGD step in PyTorch (bench/pytorch_cnn_agd.py).
//
//   build/bench/bench_cnn --threads 2 --runs fashion_cnn:128,vgg16:32 [--roof]
//   build/bench/bench_cnn --list
//
// One line per run, `agd_cnn model=.. batch=.. params=.. flops=.. median_ms=.. min_ms=..
// steps=.. gflops=..`, and with --roof one line `gemm_roof size=.. gflops=.. threads=..`.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

#include "cnn.hpp"

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "usage: bench_cnn [--threads N (0: all cores)] [--runs MODEL:BATCH,...] [--roof] "
               "[--roof-size N] [--list]\n"
               "       [--warmup N] [--max-steps N] [--min-steps N] [--max-seconds S]\n"
               "bench_cnn: %s\n",
               problem.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<agd_bench::registered_model> models;
  agd_bench::add_fashion_cnn(models);
  agd_bench::add_vgg16(models);
  agd_bench::add_resnet18(models);

  int threads = 0;
  bool roof = false, list = false;
  long roof_size = 2048;
  std::string runs;
  agd_bench::timing_options timing;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--threads")
      threads = std::atoi(value().c_str());
    else if (flag == "--runs")
      runs = value();
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
    for (const auto& m : models) std::printf("model=%s params=%zu\n", m.name.c_str(), m.parameters);
    return 0;
  }
  agd::set_threads(threads);
  const int used_threads = threads ? threads : int(std::thread::hardware_concurrency());
  std::printf("# agd %s GEMM, %d threads\n", agd::gemm_backend().c_str(), used_threads);
  std::fflush(stdout);

  std::stringstream entries(runs);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    if (entry.empty()) continue;
    const auto colon = entry.find(':');
    const std::string name = entry.substr(0, colon);
    const long batch = colon == std::string::npos ? 0 : std::atol(entry.c_str() + colon + 1);
    if (batch <= 0) usage("a run is MODEL:BATCH, not '" + entry + "'");
    const auto found =
        std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.name == name; });
    if (found == models.end()) usage("no model '" + name + "' (--list shows those compiled in)");
    const auto r = found->run(std::size_t(batch), timing);
    std::printf(
        "agd_cnn model=%s batch=%zu params=%zu flops=%.0f median_ms=%.4f min_ms=%.4f steps=%d "
        "gflops=%.2f\n",
        name.c_str(), r.batch, r.parameters, r.flops, r.median_ms, r.min_ms, r.steps,
        r.flops / (r.median_ms * 1e-3) / 1e9);
    std::fflush(stdout);
  }
  if (roof)
    std::printf("gemm_roof size=%ld gflops=%.2f threads=%d\n", roof_size,
                agd_bench::gemm_gflops(Eigen::Index(roof_size), 10), used_threads);
  return 0;
}
