// What the CUDA backend's parity tests share (test_cuda_layers.cpp, test_cuda_resnet.cpp,
// test_cuda_training.cpp): the same network type, weights and batch on the CPU backend and on
// the CUDA backend must give the same outputs, loss, gradients, G, eta and weights after a step.
// The tests are built twice: with Thrust's host (CPP) device system in the CPU-only CI
// (test_cuda_backend_host: the CUDA backend's element-wise passes and segmented sums run on the
// CPU, its GEMMs through Eigen with cuBLAS's exact arguments), and by nvcc for a GPU
// (test_cuda_device, tools/gpu_check.sh).
#pragma once

#include <agd/cuda.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

namespace my {

/// The custom activation of docs/writing-a-layer.md, written once as expressions: a leaky ReLU
/// with the gain that keeps the signal's norm. No CUDA code: it runs on both backends.
template <double Slope>
struct LeakyRelu : agd::elementwise_activation {
  static constexpr double gain = agd::constexpr_sqrt(2.0 / (1.0 + Slope * Slope));
  static constexpr auto function =
      agd::expr::where(agd::expr::x > 0.0, gain* agd::expr::x, gain* Slope* agd::expr::x);
  static constexpr auto derivative = agd::expr::where(agd::expr::x > 0.0, gain, gain* Slope);
  static std::string name() { return "LeakyRelu<" + std::to_string(Slope) + ">"; }
};

}  // namespace my

namespace agd_test {

using device = agd::cuda::device;

static_assert(agd::has_kernel<agd::Dense<3, 4>, device>);
static_assert(agd::has_kernel<my::LeakyRelu<0.1>, device>);
// Checked where g++ compiles this file (the host-system tests): nvcc 13's host stub generator
// writes a bound layer's class-type template argument (tensor_shape{3, 8, 8}) back out as an
// undeclared '__T25' in a namespace-scope static_assert, however the type is spelled.
#ifndef __CUDACC__
static_assert(agd::has_kernel<agd::Conv2d<3, 8, 3>::bind<agd::tensor_shape{3, 8, 8}>, device>);
#endif
// The scalar type is kept: a double network is a double network on the device too.
static_assert(std::is_same_v<
              agd::basic_sequential<double, agd::Dense<3, 4>>::on<device>::scalar_type, double>);
static_assert(agd::Sequential<agd::Dense<3, 4>>::on<device>::depth == 1);

/// max |a - b| / max |b|: relative to the scale of the reference.
inline double relative(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-300, b.cwiseAbs().maxCoeff());
}
template <class M>
Eigen::MatrixXd as_double(const M& m) {
  return m.template cast<double>();
}

struct batch {
  Eigen::MatrixXd inputs;
  std::vector<std::int32_t> labels;
};

inline batch random_batch(std::size_t rows, std::size_t n, std::size_t classes,
                          std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gaussian(0.0, 1.0);
  batch b{Eigen::MatrixXd(Eigen::Index(rows), Eigen::Index(n)), std::vector<std::int32_t>(n)};
  for (Eigen::Index i = 0; i < b.inputs.size(); ++i) b.inputs.data()[i] = gaussian(rng);
  for (std::size_t j = 0; j < n; ++j) b.labels[j] = std::int32_t(rng() % classes);
  return b;
}

/// The same network on both backends, from the same seed (so with the same weights), one batch
/// through both: forward, loss, backward, then one step of each optimiser, compared at every
/// stage to `tolerance` (relative).
template <class Net, class Loss = agd::MSELoss, template <class> class Optimizer = agd::AGD,
          class... Options>
void check_parity(std::size_t n, double tolerance, std::uint64_t seed = 1, int steps = 1,
                  Options... options) {
  using Gpu = typename Net::template on<device>;
  INFO(Net::summary());
  Net cpu(n, seed);
  Gpu gpu(n, seed);
  for (std::size_t k = 0; k < Net::depth; ++k)
    REQUIRE(relative(as_double(gpu.weight_to_host(k)), as_double(cpu.weight_to_host(k))) == 0.0);
  Optimizer<Net> cpu_optimizer(cpu, options...);
  Optimizer<Gpu> gpu_optimizer(gpu, options...);
  for (int step = 0; step < steps; ++step) {
    INFO("step " << step);
    const batch b = random_batch(Net::input_size, n, Net::output_size, seed + 100 + step);
    cpu.load_batch(b.inputs, b.labels);
    gpu.load_batch(b.inputs, b.labels);
    cpu.forward_batch(n);
    gpu.forward_batch(n);
    CHECK(relative(as_double(gpu.output_to_host()), as_double(cpu.output_to_host())) < tolerance);
    const double cpu_loss = agd::batch_loss<Loss>(cpu, cpu.label_buffer());
    const double gpu_loss = agd::batch_loss<Loss>(gpu, gpu.label_buffer()).read();
    CHECK(std::abs(gpu_loss - cpu_loss) <= tolerance * std::abs(cpu_loss));
    CHECK(relative(as_double(gpu.output_gradient_to_host()),
                   as_double(cpu.output_gradient_to_host())) < tolerance);
    cpu.backward();
    gpu.backward();
    for (std::size_t k = 0; k < Net::depth; ++k) {
      INFO("gradient of " << Net::describe_weight(k));
      CHECK(relative(as_double(gpu.gradient_to_host(k)), as_double(cpu.gradient_to_host(k))) <
            tolerance);
    }
    const double cpu_rate = cpu_optimizer.step();
    const double gpu_rate = agd::read(gpu_optimizer.step());
    CHECK(std::abs(gpu_rate - cpu_rate) <= tolerance * std::abs(cpu_rate));
    if constexpr (std::is_same_v<Optimizer<Net>, agd::AGD<Net>>) {
      CHECK(std::abs(gpu_optimizer.gradient_summary() - cpu_optimizer.gradient_summary()) <=
            tolerance * cpu_optimizer.gradient_summary());
      const auto cpu_norms = cpu_optimizer.gradient_norms();
      const auto gpu_norms = gpu_optimizer.gradient_norms();
      for (std::size_t k = 0; k < Net::depth; ++k)
        CHECK(std::abs(gpu_norms[k] - cpu_norms[k]) <= tolerance * cpu_norms[k]);
    }
    for (std::size_t k = 0; k < Net::depth; ++k) {
      INFO("weight of " << Net::describe_weight(k));
      CHECK(relative(as_double(gpu.weight_to_host(k)), as_double(cpu.weight_to_host(k))) <
            tolerance);
    }
  }
  CHECK(gpu_optimizer.steps() == std::uint64_t(steps));
}

template <class... Layers>
using D = agd::basic_sequential<double, Layers...>;

}  // namespace agd_test
