// Using a trained network on the CUDA backend: agd::predict, predict_probabilities, evaluate and
// save_weights give what they give on the CPU backend for the same network trained the same
// way (see cuda_parity.hpp for how the CUDA backend runs without a GPU).
#include "cuda_parity.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "scratch_dir.hpp"

using namespace agd_test;

namespace {

using Net = agd::Sequential<agd::Dense<8, 16>, agd::Sqrt2Relu, agd::Dense<16, 4>>;
using Gpu = Net::on<device>;

/// The label is the sign pattern of the first two features (learnable in a few epochs).
agd::data::dataset sign_pattern_data(std::size_t n, std::uint64_t seed) {
  const batch b = random_batch(8, n, 4, seed);
  agd::data::dataset data;
  data.inputs = b.inputs.cast<float>();
  data.classes = 4;
  for (Eigen::Index j = 0; j < b.inputs.cols(); ++j)
    data.labels.push_back(std::int32_t((b.inputs(0, j) > 0) + 2 * (b.inputs(1, j) > 0)));
  return data;
}

/// The same training of the same network (seed 3) on both backends.
template <class Loss>
void train_both(Net& cpu, Gpu& gpu, const agd::data::dataset& train) {
  agd::train::fit_options options;
  options.epochs = 2;
  options.seed = 4;
  options.log = nullptr;
  agd::AGD cpu_optimizer(cpu);
  agd::AGD gpu_optimizer(gpu);
  agd::train::fit(cpu, cpu_optimizer, Loss{}, train, train, options);
  agd::train::fit(gpu, gpu_optimizer, Loss{}, train, train, options);
}

}  // namespace

TEMPLATE_TEST_CASE("cuda host: predict, predict_probabilities and evaluate match the CPU backend",
                   "[cuda][predict]", agd::CrossEntropyLoss, agd::MSELoss) {
  const agd::data::dataset train = sign_pattern_data(256, 11);
  const agd::data::dataset test = sign_pattern_data(37, 12);  // chunks of 16, 16 and 5
  Net cpu(16, 3);
  Gpu gpu(16, 3);
  train_both<TestType>(cpu, gpu, train);

  const std::vector<std::int32_t> cpu_classes = agd::predict(cpu, test);
  const std::vector<std::int32_t> gpu_classes = agd::predict(gpu, test);
  CHECK(gpu_classes == cpu_classes);

  const agd::matrix<float> cpu_p = agd::predict_probabilities(cpu, test);
  const agd::matrix<float> gpu_p = agd::predict_probabilities(gpu, test);
  REQUIRE(gpu_p.rows() == 4);
  REQUIRE(gpu_p.cols() == 37);
  const double largest_difference = (gpu_p - cpu_p).cwiseAbs().maxCoeff();
  CAPTURE(largest_difference);
  CHECK(largest_difference < 1e-4);
  CHECK((gpu_p.colwise().sum().array() - 1).abs().maxCoeff() < 1e-5);
  // The class with the largest probability is the predicted class.
  for (Eigen::Index j = 0; j < gpu_p.cols(); ++j)
    CHECK(agd::predicted_class(gpu_p.col(j).data(), 4) == gpu_classes[std::size_t(j)]);

  const agd::evaluation cpu_e = agd::evaluate(cpu, TestType{}, test);
  const agd::evaluation gpu_e = agd::evaluate(gpu, TestType{}, test);
  CAPTURE(cpu_e.loss, gpu_e.loss, cpu_e.accuracy, gpu_e.accuracy);
  CHECK(gpu_e.loss == Approx(cpu_e.loss).epsilon(1e-4));
  CHECK(gpu_e.accuracy == cpu_e.accuracy);
  // The accuracy evaluate reports is that of the predicted classes.
  std::size_t correct = 0;
  for (std::size_t j = 0; j < test.size(); ++j) correct += gpu_classes[j] == test.labels[j];
  CHECK(gpu_e.accuracy == Approx(double(correct) / double(test.size())).margin(1e-12));
  CHECK(gpu_e.accuracy > 0.6);  // it learnt something, so the comparisons above mean something
}

TEST_CASE("cuda host: evaluate reads one result from the device, and a training step none",
          "[cuda][predict]") {
  const agd::data::dataset test = sign_pattern_data(37, 12);
  Gpu gpu(16, 3);  // 3 chunks
  const std::size_t before = gpu.context().results_read;
  const agd::evaluation e = agd::evaluate(gpu, agd::CrossEntropyLoss{}, test);
  CHECK(gpu.context().results_read == before + 1);
  CHECK(std::isfinite(e.loss));
  agd::AGD optimizer(gpu);
  gpu.load_batch(test.inputs.leftCols(16), std::span(test.labels).first(16));
  auto loss = agd::train::train_step<agd::CrossEntropyLoss>(gpu, optimizer, 16);
  CHECK(gpu.context().results_read == before + 1);
  CHECK(std::isfinite(loss.read()));
  CHECK(gpu.context().results_read == before + 2);
}

TEST_CASE("cuda host: save_weights of a device network loads back on both backends",
          "[cuda][predict]") {
  const agd::data::dataset train = sign_pattern_data(256, 21);
  const agd::data::dataset test = sign_pattern_data(20, 22);
  Net cpu(32, 5);
  Gpu gpu(32, 5);
  train_both<agd::CrossEntropyLoss>(cpu, gpu, train);

  const agd_test::scratch_dir dir("cuda_save_weights");
  const auto cpu_file = dir.path / "cpu.safetensors";
  const auto gpu_file = dir.path / "gpu.safetensors";
  agd::io::save_weights(cpu_file, cpu);
  const auto inputs = agd::data::preprocessing::scale_to_sqrt_dim();
  agd::io::save_weights(gpu_file, gpu, {.step = 16, .preprocessing = inputs});

  Net from_gpu(8);
  const agd::io::checkpoint_info info = agd::io::load_weights(gpu_file, from_gpu);
  CHECK(info.step == 16);
  CHECK(info.preprocessing == inputs);
  Net from_cpu(8);
  agd::io::load_weights(cpu_file, from_cpu);
  Gpu gpu_from_cpu(8);
  agd::io::load_weights(cpu_file, gpu_from_cpu);
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("weight of " << Net::describe_weight(k));
    // A file holds exactly the weights of the network that wrote it.
    CHECK(relative(as_double(from_gpu.weight_to_host(k)), as_double(gpu.weight_to_host(k))) == 0);
    CHECK(relative(as_double(gpu_from_cpu.weight_to_host(k)), as_double(cpu.weight_to_host(k))) ==
          0);
    // And the two trainings agree.
    const double difference =
        relative(as_double(from_gpu.weight_to_host(k)), as_double(from_cpu.weight_to_host(k)));
    CAPTURE(difference);
    CHECK(difference < 1e-4);
  }
  CHECK(agd::predict(gpu_from_cpu, test) == agd::predict(from_cpu, test));
  CHECK(agd::predict(from_gpu, test) == agd::predict(gpu, test));
}

TEST_CASE("cuda host: predict names a non-finite input or output of a device network",
          "[cuda][predict]") {
  Gpu gpu(4, 1);
  Eigen::MatrixXf inputs = Eigen::MatrixXf::Ones(8, 6);
  inputs(2, 5) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(agd::predict(gpu, inputs), Catch::Contains("input 2 of sample 5"));
  inputs.setConstant(3e38f);  // finite, but the output overflows
  CHECK_THROWS_WITH(agd::predict_probabilities(gpu, inputs),
                    Catch::Contains("the output of the network for sample 0"));
}
