// The CUDA backend's network (include/agd/backend/cuda/sequential.hpp) built with Thrust's host
// (CPP) device system, where its GEMMs run through Eigen with cuBLAS's exact arguments: the same
// network, weights and batch on the CPU backend and on this one give the same outputs, loss,
// gradients, G, eta and updated weights, and 30 AGD steps track the CPU run's loss curve. On a
// GPU the same checks are the parity tests of the CUDA build.
#include <agd/agd.hpp>
#include <agd/backend/cuda/sequential.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <vector>

namespace {

using Net = agd::Sequential<agd::Dense<20, 16>, agd::Sqrt2Relu, agd::Dense<16, 16>, agd::Relu,
                            agd::Dense<16, 4>>;
using DeviceNet = Net::on<agd::cuda::device>;
static_assert(std::is_same_v<
              DeviceNet, agd::cuda::sequential<agd::Dense<20, 16>, agd::Sqrt2Relu,
                                               agd::Dense<16, 16>, agd::Relu, agd::Dense<16, 4>>>);
static_assert(DeviceNet::depth == 3 && DeviceNet::parameter_count == Net::parameter_count);

double relative_difference(const std::vector<float>& a, const float* b, std::size_t n) {
  double difference = 0, scale = 1e-30;
  for (std::size_t i = 0; i < n; ++i) {
    difference = std::max(difference, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  return difference / scale;
}

struct batch {
  Eigen::MatrixXf inputs;
  std::vector<std::int32_t> labels;
};

batch random_batch(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gaussian(0.0f, 1.0f);
  batch b{Eigen::MatrixXf(20, Eigen::Index(n)), std::vector<std::int32_t>(n)};
  for (Eigen::Index i = 0; i < b.inputs.size(); ++i) b.inputs.data()[i] = gaussian(rng);
  for (std::size_t j = 0; j < n; ++j) {
    // A learnable rule: the label is the sign pattern of two input features.
    b.labels[j] =
        std::int32_t((b.inputs(0, Eigen::Index(j)) > 0) + 2 * (b.inputs(1, Eigen::Index(j)) > 0));
  }
  return b;
}

}  // namespace

TEST_CASE("cuda backend (Thrust host system): one step matches the CPU backend", "[cuda]") {
  constexpr std::size_t n = 8;
  Net cpu(n);
  agd::AGD cpu_optimizer(cpu, {.seed = 3});
  DeviceNet gpu(n);
  gpu.copy_weights_from(cpu);
  agd::cuda::fused_agd_step gpu_optimizer(DeviceNet::layout);
  const batch b = random_batch(n, 4);

  cpu.forward(b.inputs);
  const double cpu_loss =
      agd::MSELoss::value_and_gradient<float>(cpu.output(), b.labels, cpu.output_gradient());
  cpu.backward();
  gpu.load_batch(b.inputs.data(), b.labels);
  gpu.forward();
  gpu.mse_loss_gradient();
  gpu.backward();

  const Eigen::MatrixXf cpu_output = cpu.output();
  CHECK(relative_difference(gpu.output(), cpu_output.data(), cpu_output.size()) < 1e-5);
  CHECK(gpu.loss() == Approx(cpu_loss).epsilon(1e-5));
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("gradient " << k);
    CHECK(relative_difference(gpu.gradient(k), cpu.gradient(k).data(), cpu.gradient(k).size()) <
          1e-5);
  }
  std::size_t cpu_correct = 0;
  for (Eigen::Index j = 0; j < Eigen::Index(n); ++j) {
    Eigen::Index best = 0;
    cpu_output.col(j).maxCoeff(&best);
    cpu_correct += best == b.labels[std::size_t(j)];
  }
  CHECK(gpu.count_correct() == cpu_correct);

  const double cpu_eta = cpu_optimizer.step();
  gpu_optimizer.step(gpu.weights().data(), gpu.gradients().data());
  CHECK(gpu_optimizer.gradient_summary() == Approx(cpu_optimizer.gradient_summary()).epsilon(1e-5));
  CHECK(gpu_optimizer.eta() == Approx(cpu_eta).epsilon(1e-5));
  Net updated(n);
  gpu.copy_weights_to(updated);
  for (std::size_t k = 0; k < Net::depth; ++k)
    CHECK((updated.weight(k) - cpu.weight(k)).cwiseAbs().maxCoeff() <
          1e-5f * cpu.weight(k).cwiseAbs().maxCoeff());
}

TEST_CASE("cuda backend (Thrust host system): 30 AGD steps track the CPU run's loss curve",
          "[cuda]") {
  constexpr std::size_t n = 32;
  Net cpu(n);
  agd::AGD cpu_optimizer(cpu, {.seed = 5});
  DeviceNet gpu(n);
  gpu.copy_weights_from(cpu);
  agd::cuda::fused_agd_step gpu_optimizer(DeviceNet::layout);
  std::vector<double> cpu_losses, gpu_losses;
  for (std::uint64_t step = 0; step < 30; ++step) {
    const batch b = random_batch(n, 100 + step);
    cpu.input_buffer().leftCols(Eigen::Index(n)) = b.inputs;
    cpu_losses.push_back(agd::train::train_step<agd::MSELoss>(cpu, cpu_optimizer, b.labels));
    gpu.load_batch(b.inputs.data(), b.labels);
    agd::cuda::train_step(gpu, gpu_optimizer);
    gpu_losses.push_back(gpu.loss());
  }
  for (std::size_t s = 0; s < cpu_losses.size(); ++s) {
    INFO("step " << s);
    CHECK(gpu_losses[s] == Approx(cpu_losses[s]).epsilon(1e-3));
  }
  CHECK(cpu_losses.back() < 0.8 * cpu_losses.front());  // and it learns
}
