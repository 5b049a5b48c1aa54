// The CUDA backend's training step on a GPU, timed with CUDA events (tools/gpu_check.sh runs it;
// bench/pytorch_cuda_agd.py times the same networks and the same AGD step in PyTorch).
//
// For each network: one step = forward, the official MSE loss, backward and the AGD step
// (agd::train::train_step on a batch already on the device), eager and replayed from a CUDA
// Graph, in FP32 and TF32. Each step is bracketed by two events; the figure is the median over
// the timed steps, after warm-up. The AGD update alone (segmented norms, the scalars, the
// update) is timed against the memory-bandwidth bound of its traffic (the gradients read twice,
// the weights read and written once: 16 bytes per float parameter), with the bandwidth measured
// in the same run by a device-to-device copy of the same size. One JSON object per line.
//
//   bench_cuda_step [--steps N] [--quick]
#include <agd/cuda.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../examples/cnn_models.hpp"

namespace {

using agd::cuda::check;

struct event_pair {
  cudaEvent_t start{}, stop{};
  event_pair() {
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
  }
  ~event_pair() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
};

/// Median of per-call times (ms) of `call`, each bracketed by events on the stream.
template <class Call>
double median_ms(cudaStream_t stream, int repeats, Call&& call) {
  // (Not events(std::size_t(repeats)): that declares a function.)
  std::vector<event_pair> events(static_cast<std::size_t>(repeats));
  for (auto& e : events) {
    check(cudaEventRecord(e.start, stream), "cudaEventRecord");
    call();
    check(cudaEventRecord(e.stop, stream), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  std::vector<double> ms;
  for (auto& e : events) {
    float t = 0;
    check(cudaEventElapsedTime(&t, e.start, e.stop), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  std::nth_element(ms.begin(), ms.begin() + std::ptrdiff_t(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

template <class Net>
void time_network(const char* name, std::size_t batch, int steps) {
  using Gpu = typename Net::template on<agd::cuda::device>;
  for (const bool tf32 : {false, true})
    for (const bool graph : {false, true}) {
      Gpu net(batch, 1);
      net.context().set_gemm_options({.tf32 = tf32});
      agd::AGD optimizer(net);
      std::mt19937_64 rng(2);
      std::normal_distribution<float> gaussian(0.0f, 1.0f);
      Eigen::MatrixXf inputs(Eigen::Index(Net::input_size), Eigen::Index(batch));
      for (Eigen::Index i = 0; i < inputs.size(); ++i) inputs.data()[i] = gaussian(rng);
      std::vector<std::int32_t> labels(batch);
      for (std::size_t j = 0; j < batch; ++j) labels[j] = std::int32_t(j % Net::output_size);
      net.load_batch(inputs, labels);
      typename agd::cuda::device::step_graph step_graph(net.context());
      auto step = [&] { agd::train::train_step<agd::MSELoss>(net, optimizer, batch); };
      auto run = [&] {
        if (graph)
          step_graph.run(step);
        else
          step();
      };
      for (int i = 0; i < 5; ++i) run();  // warm-up (and, in graph mode, the capture)
      const double ms = median_ms(net.context().stream, steps, run);
      const double eta = optimizer.learning_rate();  // reads back, checks the status
      const double flops = 3.0 * double(Net::forward_flops_per_sample) * double(batch);
      std::printf(
          "{\"bench\": \"step\", \"network\": \"%s\", \"batch\": %zu, \"parameters\": %zu, "
          "\"tf32\": %s, \"graph\": %s, \"median_ms\": %.5f, \"tflops\": %.3f, \"eta\": %.6f}\n",
          name, batch, Net::parameter_count, tf32 ? "true" : "false", graph ? "true" : "false", ms,
          flops / (ms * 1e-3) / 1e12, eta);
      std::fflush(stdout);
    }
}

/// The AGD update alone on a network's flat buffers, and a copy of the same bytes for the roof.
template <class Net>
void time_update(const char* name, int steps) {
  using Gpu = typename Net::template on<agd::cuda::device>;
  Gpu net(8, 1);
  agd::AGD optimizer(net);
  // Gradients of unit scale everywhere (the update's cost does not depend on their values).
  std::vector<float> ones(Net::parameter_count, 1e-3f);
  agd::cuda::device::upload(net.context(), ones.data(), ones.size(), net.gradient_data());
  for (int i = 0; i < 3; ++i) optimizer.step();
  const double update_ms = median_ms(net.context().stream, steps, [&] { optimizer.step(); });
  // The bandwidth roof: a device-to-device copy reads and writes 8 bytes per parameter.
  agd::cuda::buffer<float> copy(Net::parameter_count);
  const auto bytes = Net::parameter_count * sizeof(float);
  const double copy_ms = median_ms(net.context().stream, steps, [&] {
    check(cudaMemcpyAsync(copy.data(), net.gradient_data(), bytes, cudaMemcpyDeviceToDevice,
                          net.context().stream),
          "cudaMemcpyAsync");
  });
  const double bandwidth = 2.0 * double(bytes) / (copy_ms * 1e-3);  // bytes/s
  const double bound_ms = 16.0 * double(Net::parameter_count) / bandwidth * 1e3;
  std::printf(
      "{\"bench\": \"agd_update\", \"network\": \"%s\", \"parameters\": %zu, \"median_ms\": "
      "%.5f, \"bound_ms\": %.5f, \"bandwidth_gbs\": %.1f, \"ratio_to_bound\": %.3f}\n",
      name, Net::parameter_count, update_ms, bound_ms, bandwidth / 1e9, update_ms / bound_ms);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 50;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
      steps = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else {
      std::fprintf(stderr, "usage: bench_cuda_step [--steps N] [--quick]\n");
      return 2;
    }
  }
  try {
    time_network<agd::FCN<784, 512, 10, 4>>("fcn_d4_w512", 128, steps);
    time_network<agd::FCN<784, 1024, 10, 4>>("fcn_d4_w1024", 128, steps);
    if (!quick) {
      time_network<agd::FCN<784, 4096, 10, 4>>("fcn_d4_w4096", 128, steps);
      time_network<agd::FCN<784, 256, 10, 32>>("fcn_d32_w256", 128, steps);
      time_network<examples::ResNet18>("resnet18", 128, std::max(10, steps / 5));
    }
    time_update<agd::FCN<784, 4096, 10, 4>>("fcn_d4_w4096", steps);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_cuda_step: %s\n", error.what());
    return 1;
  }
  return 0;
}
