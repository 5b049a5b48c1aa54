// The data-parallel step over MPI (docs/distributed.md): per-step wall time, the time a step
// waits for its gradient sums after the backward pass (the communication it does not hide), with
// and without overlapping the sums with the backward pass; and the cost of one all-reduce of the
// FCN's and ResNet-18's whole gradient on these ranks, for the scaling model of the docs.
//
//   mpirun -np 2 build/bench/bench_distributed_step --model fcn --batch 128
//   mpirun -np 4 --oversubscribe build/bench/bench_distributed_step --model resnet18 --batch 8
//
// Each step's time is the slowest rank's (the ranks move together); medians over --steps.
#include <agd/agd.hpp>
#include <agd/distributed/mpi.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cnn_models.hpp"
#include "sweep.hpp"

namespace {

using FCN = agd_bench::main_fcn;
using clock_type = std::chrono::steady_clock;

using agd_bench::median;

/// Every rank's values replaced by the largest over the ranks, entry by entry.
void max_over_ranks(std::vector<double>& values, MPI_Comm comm) {
  MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_MAX, comm);
}

struct settings {
  std::string model = "fcn";
  std::size_t batch = 128;
  int steps = 30, warmup = 5, threads = 1, rounds = 3;
};

template <class Net>
void time_steps(const settings& s, agd::distributed::mpi_communicator& ranks) {
  Net net(s.batch);
  agd::AGD<Net> optimizer(net, {.seed = 0});
  std::mt19937 rng(unsigned(ranks.rank()));
  std::normal_distribution<float> normal;
  auto inputs = net.input_buffer();
  for (Eigen::Index j = 0; j < inputs.cols(); ++j)
    for (Eigen::Index i = 0; i < inputs.rows(); ++i) inputs(i, j) = normal(rng);
  for (std::size_t j = 0; j < s.batch; ++j) net.label_buffer()[j] = std::int32_t(j % 10);

  // The two modes alternate, `rounds` times, so that a noisy stretch of the shared machine
  // falls on both; the medians are over every round's steps.
  agd::distributed::data_parallel<Net> blocking(net, {.comm = &ranks, .overlap = false});
  agd::distributed::data_parallel<Net> overlapped(net, {.comm = &ranks, .overlap = true});
  std::vector<double> step_ms[2], wait_ms[2];
  for (int round = 0; round < s.rounds; ++round)
    for (const int mode : {0, 1}) {
      auto& parallel = mode == 0 ? blocking : overlapped;
      for (int step = 0; step < s.warmup + s.steps; ++step) {
        const auto start = clock_type::now();
        parallel.template step<agd::MSELoss>(optimizer);
        const double ms =
            std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
        if (step < s.warmup) continue;
        step_ms[mode].push_back(ms);
        wait_ms[mode].push_back(1e3 * parallel.last_wait_seconds());
      }
    }
  double blocking_step_ms = 0;
  for (const int mode : {0, 1}) {
    max_over_ranks(step_ms[mode], ranks.handle());
    max_over_ranks(wait_ms[mode], ranks.handle());
    const double step = median(step_ms[mode]), wait = median(wait_ms[mode]);
    if (mode == 0) blocking_step_ms = step;
    if (ranks.rank() == 0)
      std::printf(
          "step model=%s ranks=%zu local_batch=%zu threads=%d mode=%s buckets=%zu steps=%zu "
          "step_ms=%.3f wait_ms=%.3f wait_share=%.3f saved_vs_blocking_ms=%.3f\n",
          s.model.c_str(), ranks.size(), s.batch, s.threads, mode ? "overlap" : "blocking",
          mode ? overlapped.buckets().size() : std::size_t(1), step_ms[mode].size(), step, wait,
          wait / step, mode ? blocking_step_ms - step : 0.0);
  }
}

/// One blocking MPI_Allreduce of `count` floats, the slowest rank's median over 10.
void time_allreduce(const char* what, std::size_t count, const settings& s,
                    agd::distributed::mpi_communicator& ranks) {
  std::vector<float> buffer(count, 1.0f);
  std::vector<double> ms;
  for (int rep = 0; rep < 12; ++rep) {
    MPI_Barrier(ranks.handle());
    const auto start = clock_type::now();
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), int(count), MPI_FLOAT, MPI_SUM, ranks.handle());
    const double t = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
    if (rep >= 2) ms.push_back(t);
  }
  max_over_ranks(ms, ranks.handle());
  const double m = median(ms);
  if (ranks.rank() == 0)
    std::printf("allreduce of=%s ranks=%zu floats=%zu bytes=%zu ms=%.3f GB_per_s=%.3f threads=%d\n",
                what, ranks.size(), count, count * sizeof(float), m,
                double(count * sizeof(float)) / (m * 1e-3) / 1e9, s.threads);
}

}  // namespace

int main(int argc, char** argv) {
  agd::distributed::mpi_session mpi(argc, argv);
  agd::distributed::mpi_communicator ranks;
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!value || (flag != "--model" && flag != "--batch" && flag != "--steps" &&
                   flag != "--warmup" && flag != "--threads" && flag != "--rounds")) {
      if (ranks.rank() == 0)
        std::fprintf(
            stderr,
            "usage: mpirun -np N bench_distributed_step [--model fcn|resnet18] [--batch "
            "per-rank batch] [--steps N] [--warmup N] [--threads per rank] [--rounds N]\nbad flag: "
            "%s\n",
            flag.c_str());
      return 2;
    }
    ++i;
    if (flag == "--model") s.model = value;
    if (flag == "--batch") s.batch = std::size_t(std::atol(value));
    if (flag == "--steps") s.steps = std::atoi(value);
    if (flag == "--warmup") s.warmup = std::atoi(value);
    if (flag == "--threads") s.threads = std::atoi(value);
    if (flag == "--rounds") s.rounds = std::atoi(value);
  }
  if ((s.model != "fcn" && s.model != "resnet18") || s.batch < 1 || s.steps < 1 || s.warmup < 0 ||
      s.threads < 1) {
    if (ranks.rank() == 0)
      std::fprintf(stderr,
                   "bench_distributed_step: --model fcn|resnet18, --batch, --steps and "
                   "--threads >= 1\n");
    return 2;
  }
  agd::set_threads(s.threads);
  time_allreduce("fcn", FCN::parameter_count, s, ranks);
  time_allreduce("resnet18", examples::ResNet18::parameter_count, s, ranks);
  if (s.model == "fcn")
    time_steps<FCN>(s, ranks);
  else
    time_steps<examples::ResNet18>(s, ranks);
  return 0;
}
