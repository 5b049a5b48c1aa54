// The shapes of the step-time sweep (bench/run_benchmarks.sh): each (depth, width) is its own
// network type, agd::FCN<784, width, 10, depth>, so the shapes are spread over several
// translation units (sweep_width.cpp, sweep_depth*.cpp) to keep each one's compile time and
// memory down, and registered here for bench_sweep's main (sweep_main.cpp) to look up.
#pragma once

#include "roof.hpp"

#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace agd_bench {

/// The paper's main FCN (depth 4, width 512, Sqrt2Relu), the network of bench_step_time and
/// bench_distributed_step.
using main_fcn =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;

/// The median of `values` (the upper one of an even count).
inline double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(values.size() / 2),
                   values.end());
  return values[values.size() / 2];
}

struct timing_options {
  int warmup = 10;           // untimed steps first
  int max_steps = 200;       // timed steps at most ...
  int min_steps = 10;        // ... and at least ...
  double max_seconds = 2.0;  // ... stopping once the timed steps have taken this long
};

struct shape_result {
  std::size_t depth = 0, width = 0, batch = 0;
  std::size_t parameters = 0;
  double flops = 0;  // floating-point operations of one training step (step_flops below)
  double median_ms = 0, min_ms = 0;
  int steps = 0;
};

using shape_runner = shape_result (*)(std::size_t batch, const timing_options&);

struct registered_shape {
  std::size_t depth, width;
  shape_runner run;
};

/// Floating-point operations of one training step of Net on a batch of n: the forward products
/// (W x for a dense layer, R W^T at every output position for a convolution:
/// Net::forward_flops_per_sample), the weight gradients (as many), and the input gradients of
/// every weighted layer but the first (neither agd nor PyTorch computes that one: the inputs do
/// not require a gradient). For an FCN that is 2 n (P + P + (P - first layer's)). Element-wise
/// work and the AGD update are left out (they are O(P + activations), not O(P n)).
template <class Net>
constexpr double step_flops(std::size_t n) {
  const double forward = double(Net::forward_flops_per_sample);
  const double first = 2.0 * double(Net::weight_rows[0] * Net::weight_cols[0]) *
                       double(Net::shapes[Net::weight_layer[0] + 1].plane());
  return double(n) * (forward + forward + (forward - first));
}

/// GFLOP/s of a square float GEMM as Eigen runs it on agd's pool (bench/roof.hpp has oneDNN's
/// and the measured peak beside it).
inline double gemm_gflops(Eigen::Index size, int repeats) {
  return eigen_gemm_gflops(long(size), repeats);
}

/// Random inputs (input_size rows) and labels 0..9 for timing steps of batch `batch`: at least
/// 4096 samples and two batches.
inline agd::data::dataset random_dataset(std::size_t input_size, std::size_t batch) {
  agd::data::dataset data;
  const std::size_t samples = std::max<std::size_t>(4096, 2 * batch);
  data.inputs = Eigen::MatrixXf::Random(Eigen::Index(input_size), Eigen::Index(samples));
  data.labels.resize(samples);
  for (std::size_t j = 0; j < samples; ++j) data.labels[j] = std::int32_t(j % 10);
  return data;
}

/// Median wall time of one AGD training step (forward, MSE loss, backward, AGD update) of Net on
/// random inputs and labels, batch `batch`; data gathering is not timed.
template <class Net>
shape_result time_agd_step(std::size_t batch, const timing_options& options) {
  using clock_type = std::chrono::steady_clock;
  const agd::data::dataset data = random_dataset(Net::input_size, batch);
  const std::size_t samples = data.size();

  Net net(batch);
  agd::AGD optimizer(net, {.seed = 0});
  agd::data::batch_sampler sampler(samples, batch, 0);
  std::vector<std::int32_t> labels(batch);
  std::span<const std::size_t> indices;
  std::vector<double> step_ms;
  step_ms.reserve(std::size_t(options.max_steps));
  sampler.start_epoch();
  double timed_seconds = 0;
  for (int s = 0;; ++s) {
    const int timed = s - options.warmup;
    if (timed >= options.max_steps ||
        (timed >= options.min_steps && timed_seconds >= options.max_seconds))
      break;
    if (!sampler.next(indices)) {
      sampler.start_epoch();
      sampler.next(indices);
    }
    agd::data::gather_batch(data, indices, net.input_buffer(), std::span<std::int32_t>(labels));
    const auto start = clock_type::now();
    agd::train::train_step<agd::MSELoss>(net, optimizer, std::span<const std::int32_t>(labels));
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    if (timed >= 0) {
      step_ms.push_back(seconds * 1e3);
      timed_seconds += seconds;
    }
  }
  shape_result r;
  r.depth = Net::depth;
  r.width = Net::widths[1];
  r.batch = batch;
  r.parameters = Net::parameter_count;
  r.flops = step_flops<Net>(batch);
  r.steps = int(step_ms.size());
  r.min_ms = *std::min_element(step_ms.begin(), step_ms.end());
  r.median_ms = median(step_ms);
  return r;
}

template <std::size_t Depth, std::size_t Width>
registered_shape shape() {
  return {Depth, Width, &time_agd_step<agd::FCN<784, Width, 10, Depth>>};
}

// One function per translation unit; each appends the shapes it compiles.
void add_width_shapes(std::vector<registered_shape>& shapes);
void add_depth_shapes_shallow(std::vector<registered_shape>& shapes);
void add_depth_shapes_16(std::vector<registered_shape>& shapes);
void add_depth_shapes_32(std::vector<registered_shape>& shapes);

/// The flags bench_sweep and bench_cnn share; `runs` is the text of the flag that lists what to
/// time (--shapes, --runs).
struct bench_flags {
  int threads = 0;
  bool roof = false, list = false;
  long roof_size = 2048;
  std::string runs;
  timing_options timing;
  /// --precision: fp32, or bf16 (Net::with_precision<agd::bf16>, where a runner has it).
  std::string precision = "fp32";
};

/// Parses `argv` into bench_flags; `runs_flag` names the flag that lists the runs. A bad or
/// missing value calls usage(problem), which does not return.
inline bench_flags parse_bench_flags(int argc, char** argv, const std::string& runs_flag,
                                     void (*usage)(const std::string&)) {
  bench_flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--threads")
      f.threads = std::atoi(value().c_str());
    else if (flag == "--precision") {
      f.precision = value();
      if (f.precision != "fp32" && f.precision != "bf16") usage("--precision is fp32 or bf16");
    } else if (flag == runs_flag)
      f.runs = value();
    else if (flag == "--roof")
      f.roof = true;
    else if (flag == "--roof-size")
      f.roof_size = std::atol(value().c_str());
    else if (flag == "--list")
      f.list = true;
    else if (flag == "--warmup")
      f.timing.warmup = std::atoi(value().c_str());
    else if (flag == "--max-steps")
      f.timing.max_steps = std::atoi(value().c_str());
    else if (flag == "--min-steps")
      f.timing.min_steps = std::atoi(value().c_str());
    else if (flag == "--max-seconds")
      f.timing.max_seconds = std::atof(value().c_str());
    else
      usage("unknown flag " + flag);
  }
  if (f.timing.warmup < 0 || f.timing.min_steps < 1 || f.timing.max_steps < f.timing.min_steps ||
      f.roof_size < 16)
    usage("need --warmup >= 0, 1 <= --min-steps <= --max-steps, --roof-size >= 16");
  return f;
}

/// Sets the thread pool, prints the header line and returns the number of threads used.
inline int start_threads(int threads) {
  agd::set_threads(threads);
  const int used = threads ? threads : int(std::thread::hardware_concurrency());
  std::printf("# agd CPU engine %s (%s GEMM for double), %d threads\n",
              agd::eigen::cpu::engine().c_str(), agd::gemm_backend().c_str(), used);
  std::fflush(stdout);
  return used;
}

}  // namespace agd_bench
