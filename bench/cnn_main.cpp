// bench_cnn: median wall time and GFLOP/s of one AGD training step (forward, MSE loss, backward,
// AGD update) of the convolutional networks of examples/cnn_models.hpp, and the machine's GEMM
// roof measured on the same thread pool. bench/cnn_compare.sh runs it against the same
// networks and the same AGD step in PyTorch (bench/pytorch_cnn_agd.py).
//
//   build/bench/bench_cnn --threads 2 --runs fashion_cnn:128,vgg16:32 [--roof] [--precision bf16]
//   build/bench/bench_cnn --list
//
// One line per run, `agd_cnn model=.. batch=.. params=.. flops=.. median_ms=.. min_ms=..
// steps=.. gflops=..`, and with --roof the roofs of bench/roof.hpp (`roof eigen_gflops=..
// onednn_gflops=.. peak_gflops=..`) and `gemm_roof size=.. gflops=..`, the fastest GEMM.
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
               "       [--precision fp32|bf16]\n"
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

  const agd_bench::bench_flags flags = agd_bench::parse_bench_flags(argc, argv, "--runs", usage);
  if (flags.list) {
    for (const auto& m : models) std::printf("model=%s params=%zu\n", m.name.c_str(), m.parameters);
    return 0;
  }
  const int used_threads = agd_bench::start_threads(flags.threads);

  std::stringstream entries(flags.runs);
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
    const bool bf16 = flags.precision == "bf16";
    const auto r = (bf16 ? found->run_bf16 : found->run)(std::size_t(batch), flags.timing);
    std::printf(
        "agd_cnn model=%s batch=%zu precision=%s params=%zu flops=%.0f median_ms=%.4f "
        "min_ms=%.4f steps=%d gflops=%.2f\n",
        name.c_str(), r.batch, flags.precision.c_str(), r.parameters, r.flops, r.median_ms,
        r.min_ms, r.steps, r.flops / (r.median_ms * 1e-3) / 1e9);
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
