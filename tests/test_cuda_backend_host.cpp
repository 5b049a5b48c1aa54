// The CUDA backend (<agd/cuda.hpp>) built with Thrust's host (CPP) device system, where its
// element-wise passes and segmented sums run on the CPU and its GEMMs through Eigen with
// cuBLAS's exact arguments. The same network type, weights and batch on the CPU backend and on
// this one must give the same outputs, loss, gradients, G, eta and weights after a step, for
// every layer kind, loss and optimiser, through train::fit and checkpoints. On a GPU,
// test_cuda_device runs these checks on the device system (tools/gpu_check.sh).
#include <agd/cuda.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "cnn_models.hpp"
#include "scratch_dir.hpp"

namespace my {

/// The custom activation of docs/writing-a-layer.md, written once as expressions: a leaky ReLU
/// with the gain that keeps the signal's norm. No CUDA code: it runs on both backends.
template <double Slope>
struct LeakyRelu : agd::elementwise_activation {
  static constexpr double gain = agd::constexpr_sqrt(2.0 / (1.0 + Slope * Slope));
  static constexpr auto function =
      agd::expr::where(agd::expr::x > 0.0, gain * agd::expr::x, gain * Slope * agd::expr::x);
  static constexpr auto derivative = agd::expr::where(agd::expr::x > 0.0, gain, gain * Slope);
  static std::string name() { return "LeakyRelu<" + std::to_string(Slope) + ">"; }
};

}  // namespace my

namespace {

using device = agd::cuda::device;

static_assert(agd::has_kernel<agd::Dense<3, 4>, device>);
static_assert(agd::has_kernel<my::LeakyRelu<0.1>, device>);
static_assert(agd::has_kernel<agd::Conv2d<3, 8, 3>::bind<agd::tensor_shape{3, 8, 8}>, device>);
// The scalar type is kept: a double network is a double network on the device too.
static_assert(std::is_same_v<agd::basic_sequential<double, agd::Dense<3, 4>>::on<device>::scalar_type,
                             double>);
static_assert(agd::Sequential<agd::Dense<3, 4>>::on<device>::depth == 1);

/// max |a - b| / max |b|: relative to the scale of the reference.
double relative(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
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

batch random_batch(std::size_t rows, std::size_t n, std::size_t classes, std::uint64_t seed) {
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
    const double gpu_loss = agd::batch_loss<Loss>(gpu, gpu.label_buffer());
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
    const double gpu_rate = gpu_optimizer.step();
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

}  // namespace

TEST_CASE("cuda host: every layer kind matches the CPU backend", "[cuda]") {
  SECTION("Dense and the ReLUs") {
    check_parity<D<agd::Dense<12, 16>, agd::Relu, agd::Dense<16, 8>, agd::Sqrt2Relu,
                   agd::Dense<8, 4>>>(6, 1e-12);
  }
  SECTION("the custom LeakyRelu, written once as an expression") {
    check_parity<D<agd::Dense<12, 16>, my::LeakyRelu<0.1>, agd::Dense<16, 4>>>(6, 1e-12);
  }
  SECTION("Input, Conv2d (padding, stride, 1x1), Flatten") {
    check_parity<D<agd::Input<2, 7, 7>, agd::Conv2d<2, 4, 3>, agd::Relu,
                   agd::Conv2d<4, 5, 3, 2, 0>, agd::Conv2d<5, 3, 1>, agd::Flatten,
                   agd::Dense<27, 4>>>(3, 1e-11);
  }
  SECTION("max, average (overlapping) and global average pooling") {
    check_parity<D<agd::Input<2, 8, 8>, agd::Conv2d<2, 3, 3>, agd::MaxPool2d<2>,
                   agd::Conv2d<3, 3, 3>, agd::AvgPool2d<3, 1>, agd::MaxPool2d<2, 1>,
                   agd::GlobalAvgPool, agd::Dense<3, 4>>>(3, 1e-11);
  }
  SECTION("BatchNorm, on images and on flat features") {
    check_parity<D<agd::Input<3, 4, 4>, agd::Conv2d<3, 4, 3>, agd::BatchNorm, agd::Relu,
                   agd::Flatten, agd::Dense<64, 8>, agd::BatchNorm, agd::Dense<8, 4>>>(5, 1e-10);
  }
  SECTION("Residual blocks: identity and projection skips, nested") {
    check_parity<D<agd::Input<2, 6, 6>, agd::Conv2d<2, 4, 3>,
                   agd::Residual<agd::Relu, agd::Conv2d<4, 4, 3>,
                                 agd::Residual<agd::Relu, agd::Conv2d<4, 4, 3>>>,
                   agd::Residual<agd::BatchNorm, agd::Conv2d<4, 6, 3, 2, 1>>, agd::GlobalAvgPool,
                   agd::Dense<6, 3>>>(4, 1e-10);
  }
}

TEST_CASE("cuda host: every loss and optimiser matches the CPU backend over several steps",
          "[cuda]") {
  using Net = D<agd::Dense<10, 12>, agd::Sqrt2Relu, agd::Dense<12, 12>, agd::Sqrt2Relu,
                agd::Dense<12, 5>>;
  SECTION("AGD, official MSE") { check_parity<Net, agd::MSELoss, agd::AGD>(8, 1e-11, 2, 5); }
  SECTION("AGD, the paper's square loss") {
    check_parity<Net, agd::SquareLoss, agd::AGD>(8, 1e-11, 3, 5);
  }
  SECTION("AGD, cross-entropy") {
    check_parity<Net, agd::CrossEntropyLoss, agd::AGD>(8, 1e-11, 4, 5);
  }
  SECTION("Adam") { check_parity<Net, agd::CrossEntropyLoss, agd::Adam>(8, 1e-10, 5, 5); }
  SECTION("SGD with momentum") {
    check_parity<Net, agd::MSELoss, agd::SGD>(8, 1e-10, 6, 5,
                                              agd::sgd_options{.lr = 0.05, .momentum = 0.9});
  }
}

TEST_CASE("cuda host: a float FCN matches the CPU backend to 1e-5", "[cuda]") {
  check_parity<agd::FCN<40, 64, 10, 4>>(16, 1e-5, 7, 3);
}

TEST_CASE("cuda host: a CNN with batch norm and residual blocks matches the CPU backend",
          "[cuda]") {
  using Cnn = agd::basic_sequential<
      double, agd::Input<3, 8, 8>, agd::Conv2d<3, 8, 3>,
      agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<8, 8, 3>, agd::BatchNorm, agd::Relu,
                    agd::Conv2d<8, 8, 3>>,
      agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<8, 16, 3, 2>, agd::BatchNorm,
                    agd::Relu, agd::Conv2d<16, 16, 3>>,
      agd::AvgPool2d<4>, agd::Flatten, agd::Dense<16, 10>>;
  check_parity<Cnn, agd::CrossEntropyLoss, agd::AGD>(4, 1e-9, 8, 2);
}

TEST_CASE("cuda host: one AGD step of ResNet-18 matches the CPU backend", "[cuda][resnet]") {
  check_parity<examples::ResNet18, agd::MSELoss, agd::AGD>(2, 1e-4, 9, 1);
}

TEST_CASE("cuda host: train::fit and checkpoints work unchanged on a device network", "[cuda]") {
  using Net = agd::Sequential<agd::Dense<8, 16>, agd::Sqrt2Relu, agd::Dense<16, 4>>;
  using Gpu = Net::on<device>;
  // A learnable rule: the label is the sign pattern of the first two features.
  agd::data::dataset train, test;
  for (auto* set : {&train, &test}) {
    const batch b = random_batch(8, set == &train ? 512 : 128, 4, set == &train ? 11 : 12);
    set->inputs = b.inputs.cast<float>();
    set->classes = 4;
    for (Eigen::Index j = 0; j < b.inputs.cols(); ++j)
      set->labels.push_back(std::int32_t((b.inputs(0, j) > 0) + 2 * (b.inputs(1, j) > 0)));
  }
  agd::train::fit_options options;
  options.epochs = 3;
  options.seed = 4;
  options.log = nullptr;
  Net cpu(32, 3);
  Gpu gpu(32, 3);
  agd::AGD cpu_optimizer(cpu);
  agd::AGD gpu_optimizer(gpu);
  const auto cpu_history = agd::train::fit(cpu, cpu_optimizer, agd::MSELoss{}, train, test, options);
  options.capture_graph = true;  // the same steps, replayed from a graph on a GPU
  const auto gpu_history = agd::train::fit(gpu, gpu_optimizer, agd::MSELoss{}, train, test, options);
  REQUIRE(gpu_history.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    INFO("epoch " << e + 1);
    CHECK(gpu_history[e].train_loss == Approx(cpu_history[e].train_loss).epsilon(1e-4));
    CHECK(gpu_history[e].mean_eta == Approx(cpu_history[e].mean_eta).epsilon(1e-4));
    CHECK(gpu_history[e].test_accuracy == Approx(cpu_history[e].test_accuracy).margin(0.01));
  }
  CHECK(gpu_history.back().test_accuracy > 0.8);  // it learnt the rule
  CHECK(gpu_history.back().train_loss < gpu_history.front().train_loss);

  // A checkpoint written from the device network loads into a CPU network, and back.
  const agd_test::scratch_dir dir("cuda_checkpoint");
  const auto file = dir.path / "gpu.safetensors";
  agd::io::save_checkpoint(file, gpu, gpu_optimizer, {.step = 48, .epoch = 3});
  Net restored(32);
  agd::AGD restored_optimizer(restored);
  CHECK(agd::io::load_checkpoint(file, restored, restored_optimizer).step == 48);
  for (std::size_t k = 0; k < Net::depth; ++k)
    CHECK(relative(as_double(restored.weight_to_host(k)), as_double(gpu.weight_to_host(k))) == 0);
  Gpu reloaded(32);
  agd::io::load_weights(file, reloaded);
  const auto evaluation = agd::train::evaluate(reloaded, agd::MSELoss{}, test);
  CHECK(evaluation.accuracy == Approx(gpu_history.back().test_accuracy).margin(1e-9));
}

TEST_CASE("cuda host: a NaN gradient changes no weight and is reported when a result is read",
          "[cuda]") {
  using Net = agd::Sequential<agd::Dense<4, 6>, agd::Relu, agd::Dense<6, 3>>::on<device>;
  Net net(4);
  agd::AGD optimizer(net);
  const batch b = random_batch(4, 4, 3, 21);
  net.load_batch(b.inputs, b.labels);
  net.forward_batch(4);
  agd::batch_loss<agd::MSELoss>(net, net.label_buffer());
  net.backward();
  // Poison one gradient entry of the second layer.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  agd::cuda::device::upload(net.context(), &nan, 1, net.gradient_view(1).data + 3);
  const Eigen::MatrixXf before0 = net.weight_to_host(0), before1 = net.weight_to_host(1);
  auto eta = optimizer.step();  // enqueued: nothing is read yet
  CHECK_THROWS_WITH(double(eta), Catch::Contains("layer 3 (Dense<6,3>)") &&
                                     Catch::Contains("contains NaN or Inf"));
  CHECK((net.weight_to_host(0) - before0).cwiseAbs().maxCoeff() == 0);
  CHECK((net.weight_to_host(1) - before1).cwiseAbs().maxCoeff() == 0);
  // The status was cleared by the read: the next good step goes through.
  net.backward();
  CHECK(std::isfinite(double(optimizer.step())));
  CHECK((net.weight_to_host(0) - before0).cwiseAbs().maxCoeff() > 0);
}

TEST_CASE("cuda host: a NaN loss stops the step in train::fit with epoch and step", "[cuda]") {
  using Net = agd::Sequential<agd::Dense<2, 3>>::on<device>;
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Constant(2, 8, 3e38f);  // finite, but the output overflows
  data.labels = {0, 1, 2, 0, 1, 2, 0, 1};
  data.classes = 3;
  Net net(4);
  agd::AGD optimizer(net);
  agd::train::fit_options options;
  options.log = nullptr;
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("loss is") && Catch::Contains("no weight was changed"));
}
