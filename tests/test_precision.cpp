// Mixed precision on the CPU: Net::with_precision<agd::bf16> (network/precision.hpp). The
// conversions and the type's facts are checked everywhere; what needs a CPU that multiplies
// bfloat16 in hardware (AVX512-BF16 or AMX) reports itself skipped elsewhere, saying which
// instructions are missing, and ctest's precision.refused_without_bf16_instructions checks that
// refusal on every machine (oneDNN held to AVX-512 without BF16).
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include "fashion_mnist_data.hpp"
#include "scratch_dir.hpp"
#include "skip.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace {

using Fcn = agd::Sequential<agd::Dense<300, 200>, agd::Dense<200, 100>>;
using Deep = agd::Sequential<agd::Dense<784, 256>, agd::Sqrt2Relu, agd::Dense<256, 256>,
                             agd::Sqrt2Relu, agd::Dense<256, 10>>;
/// Convolutions between blocked layouts (16 and 32 channels), the first reading CHW.
using Cnn = agd::Sequential<agd::Input<3, 12, 12>, agd::Conv2d<3, 16, 3>, agd::Sqrt2Relu,
                            agd::Conv2d<16, 32, 3>, agd::Sqrt2Relu, agd::Conv2d<32, 32, 3, 2>,
                            agd::Flatten, agd::Dense<32 * 6 * 6, 10>>;

/// Why this machine or build cannot make a bf16 network (none where it can).
std::optional<std::string> bf16_unavailable() {
  try {
    Fcn::with_precision<agd::bf16> probe(1);
    return std::nullopt;
  } catch (const std::runtime_error& refusal) {
    return std::string(refusal.what());
  }
}
/// Skips the running test case where bf16 is not available, saying why; true if it skipped.
bool skipped_without_bf16() {
  const std::string reason = agd::eigen::cpu::precision_refusal(agd::compute_precision::bf16);
  if (!reason.empty()) agd_test::skip("needs bf16 instructions: " + reason);
  return !reason.empty();
}

agd::matrix<float> rounded(const agd::matrix<float>& m) {
  return m.unaryExpr([](float v) { return agd::round_to_bf16(v); });
}
double relative(const agd::matrix<float>& a, const agd::matrix<float>& b) {
  return double((a - b).norm() / b.norm());
}

}  // namespace

TEST_CASE("precision: float to bfloat16 rounds to nearest with ties to even and keeps NaN and Inf",
          "[precision]") {
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
  CHECK(agd::round_to_bf16(1.0f + 0x1p-8f) == 1.0f);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: to the even one, 1 + 2^-6.
  CHECK(agd::round_to_bf16(1.0f + 3 * 0x1p-8f) == 1.0f + 0x1p-6f);
  CHECK(agd::round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);  // above half: up
  CHECK(agd::round_to_bf16(-1.0f - 0x1p-8f - 0x1p-20f) == -1.0f - 0x1p-7f);
  CHECK(agd::to_bf16(1.0f).bits == 0x3F80);
  CHECK(agd::to_bf16(-2.0f).bits == 0xC000);
  CHECK(agd::round_to_bf16(0.1f) == 0.10009765625f);
  CHECK(agd::round_to_bf16(std::numeric_limits<float>::max()) ==
        std::numeric_limits<float>::infinity());  // past bf16's largest
  CHECK(agd::round_to_bf16(std::numeric_limits<float>::infinity()) ==
        std::numeric_limits<float>::infinity());
  CHECK(std::isnan(agd::round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lies only in the lower 16 bits must not round to infinity.
  const float low_nan = std::bit_cast<float>(0x7F800001u);
  CHECK(std::isnan(agd::round_to_bf16(low_nan)));
  // Every value with at most 8 significant bits is exact.
  for (float v : {0.0f, 1.5f, -0.375f, 255.0f, 0x1p-100f, 0x1p100f})
    CHECK(agd::round_to_bf16(v) == v);
  // The relative error of the rounding is at most 2^-8 (8 significant bits), and reaches it.
  float largest = 0;
  for (int i = 1; i < 1000; ++i) {
    const float v = 1.0f + float(i) * 0.000977f;
    largest = std::max(largest, std::abs(agd::round_to_bf16(v) - v) / v);
  }
  CHECK(largest <= 0x1p-8f);
  CHECK(largest > 0x1p-9f);
}

TEST_CASE("precision: the precision is part of the network type", "[precision]") {
  using Mixed = Fcn::with_precision<agd::bf16>;
  STATIC_REQUIRE(std::is_same_v<Fcn::with_precision<float>, Fcn>);
  STATIC_REQUIRE(Mixed::precision == agd::compute_precision::bf16);
  STATIC_REQUIRE(Fcn::precision == agd::compute_precision::native);
  STATIC_REQUIRE(std::is_base_of_v<Fcn, Mixed>);
  STATIC_REQUIRE(std::is_same_v<Mixed::native_network, Fcn>);
  STATIC_REQUIRE(std::is_same_v<Mixed::scalar_type, float>);  // master weights stay float
  STATIC_REQUIRE(std::is_same_v<Mixed::with_precision<float>, Fcn>);
  STATIC_REQUIRE(Mixed::parameter_count == Fcn::parameter_count);
  CHECK_THAT(Mixed::summary(), Catch::Contains("bf16"));
}

TEST_CASE("precision: a bf16 network's GEMMs are exact products of bf16-rounded operands",
          "[precision]") {
  if (skipped_without_bf16()) return;
  agd::set_threads(2);
  Fcn::with_precision<agd::bf16> net(64, 3);
  Fcn native(64, 3);
  const agd::matrix<float> x = agd::matrix<float>::Random(300, 64);
  const agd::matrix<float> w0 = net.weight_to_host(0), w1 = net.weight_to_host(1);
  const agd::matrix<float> h = rounded(w0) * rounded(x);
  const agd::matrix<float> y = rounded(w1) * rounded(h);
  const agd::matrix<float> y_bf16 = net.forward(x);
  // Float sums of exact products (a bf16 product fits a float): only the order of the sums
  // differs from Eigen's.
  CHECK(relative(y_bf16, y) < 1e-5);
  const agd::matrix<float> g = agd::matrix<float>::Random(100, 64);
  net.backward(g);
  const agd::matrix<float> dw1 = rounded(g) * rounded(h).transpose();
  const agd::matrix<float> dh = rounded(w1).transpose() * rounded(g);
  const agd::matrix<float> dw0 = rounded(dh) * rounded(x).transpose();
  CHECK(relative(net.gradient_to_host(1), dw1) < 1e-5);
  CHECK(relative(net.gradient_to_host(0), dw0) < 1e-5);
  // And they are not the float network's: bf16 is in use (about 2^-9 relative per operand).
  native.forward(x);
  native.backward(g);
  const double apart = relative(net.gradient_to_host(0), native.gradient_to_host(0));
  CHECK(apart > 1e-4);
  CHECK(apart < 2e-2);
}

/// The network's weights, each rounded to bf16, for a float network to start from.
template <class Net>
std::vector<float> rounded_weights(const Net& net) {
  std::vector<float> w = net.weights_to_host();
  for (float& v : w) v = agd::round_to_bf16(v);
  return w;
}

TEST_CASE("precision: bf16 convolutions are exact products of bf16-rounded operands",
          "[precision]") {
  if (skipped_without_bf16()) return;
  agd::set_threads(2);
  // Two convolutions: the first reads the CHW input, the second the blocked layout the network
  // keeps between them (16 channels).
  using Two = agd::Sequential<agd::Input<16, 8, 8>, agd::Conv2d<16, 16, 3>, agd::Conv2d<16, 32, 3>>;
  using First = agd::Sequential<agd::Input<16, 8, 8>, agd::Conv2d<16, 16, 3>>;
  using Second = agd::Sequential<agd::Input<16, 8, 8>, agd::Conv2d<16, 32, 3>>;
  Two::with_precision<agd::bf16> net(24, 5);
  REQUIRE(net.activation_layout(1).blocked() == (agd::onednn::cpu_engine().channel_block > 1));
  const std::vector<float> w = rounded_weights(net);
  First first(24);
  Second second(24);
  first.weights_from_host({w.data(), First::parameter_count});
  second.weights_from_host({w.data() + First::parameter_count, Second::parameter_count});
  const agd::matrix<float> x = agd::matrix<float>::Random(Two::input_size, 24);
  const agd::matrix<float> h = first.forward(rounded(x));
  const agd::matrix<float> y = second.forward(rounded(h));
  // A rounding of h that falls the other way (h's sums in another order) is rare and small.
  CHECK(relative(net.forward(x), y) < 1e-4);
  const agd::matrix<float> g = agd::matrix<float>::Random(Two::output_size, 24);
  net.backward(g);
  second.backward(rounded(g));
  CHECK(relative(net.gradient_to_host(1), second.gradient_to_host(0)) < 1e-4);
}

TEST_CASE("precision: bf16 convolutions agree with float ones to bf16's precision", "[precision]") {
  if (skipped_without_bf16()) return;
  agd::set_threads(2);
  Cnn::with_precision<agd::bf16> net(24, 5);
  Cnn native(24, 5);
  REQUIRE(net.weights_to_host() == native.weights_to_host());
  const agd::matrix<float> x = agd::matrix<float>::Random(Cnn::input_size, 24);
  const agd::matrix<float> y = native.forward(x);
  const agd::matrix<float> y_bf16 = net.forward(x);
  const double output_apart = relative(y_bf16, y);
  CHECK(output_apart > 1e-4);
  CHECK(output_apart < 3e-2);
  const agd::matrix<float> g = agd::matrix<float>::Random(10, 24);
  native.backward(g);
  net.backward(g);
  for (std::size_t k = 0; k < Cnn::depth; ++k) {
    INFO("weight " << k);
    const double apart = relative(net.gradient_to_host(k), native.gradient_to_host(k));
    CHECK(apart > 1e-4);
    // Below a ReLU more than bf16's 2^-8: a pre-activation within rounding of 0 changes sign,
    // which changes a whole term of the gradient, and with random inputs and output gradients
    // (a sum of terms of random signs) those add up to about the square root of the fraction
    // of such flips, a few percent here (measured: up to 5.3% on the first layer).
    CHECK(apart < 0.15);
  }
}

TEST_CASE("precision: AGD trains as well in bf16 as in float on Fashion-MNIST",
          "[precision][training]") {
  if (skipped_without_bf16()) return;
  if (!agd_test::have_fashion_mnist())
    return agd_test::skip("Fashion-MNIST not found in " + agd_test::fashion_mnist_dir().string() +
                          " (apt-get install dataset-fashion-mnist)");
  agd::set_threads(2);
  auto train = agd::data::load_mnist_format(agd_test::fashion_mnist_dir(), agd::data::split::train);
  auto test = agd::data::load_mnist_format(agd_test::fashion_mnist_dir(), agd::data::split::test);
  const auto statistics = agd::data::compute_standardisation(train);
  train = agd::data::take(train, 0, 8192);
  test = agd::data::take(test, 0, 2000);
  agd::data::apply(statistics, train);
  agd::data::apply(statistics, test);
  agd::train::fit_options options;
  options.epochs = 2;
  options.seed = 4;
  options.log = nullptr;
  const auto run = [&]<class Model>() {
    Model net(128);
    agd::AGD optimizer(net, {.seed = 1});
    return agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options).back();
  };
  const auto fp32 = run.operator()<Deep>();
  const auto bf16 = run.operator()<Deep::with_precision<agd::bf16>>();
  INFO("fp32 test accuracy " << fp32.test_accuracy << ", bf16 " << bf16.test_accuracy);
  CHECK(bf16.test_accuracy > 0.75);
  CHECK(std::abs(bf16.test_accuracy - fp32.test_accuracy) < 0.02);
  CHECK(std::abs(bf16.mean_eta - fp32.mean_eta) < 0.1 * fp32.mean_eta);
}

TEST_CASE("precision: a checkpoint holds float master weights so runs change precision",
          "[precision][checkpoint]") {
  if (skipped_without_bf16()) return;
  agd::set_threads(2);
  const agd_test::scratch_dir dir;
  const std::string file = (dir.path / "mixed.safetensors").string();
  agd::data::dataset data;
  data.inputs = agd::matrix<float>::Random(784, 256);
  data.labels.resize(256);
  for (std::size_t j = 0; j < data.labels.size(); ++j) data.labels[j] = std::int32_t(j % 10);
  agd::train::fit_options options;
  options.epochs = 1;
  options.log = nullptr;

  Deep::with_precision<agd::bf16> mixed(64, 7);
  agd::AGD optimizer(mixed, {.seed = 7});
  agd::train::fit(mixed, optimizer, agd::MSELoss{}, data, data, options);
  agd::io::save_checkpoint(file, mixed, optimizer, {.step = 4});

  // Resumed in float: the same weights, bit for bit.
  Deep native(64);
  agd::AGD native_optimizer(native);
  agd::io::load_checkpoint(file, native, native_optimizer);
  CHECK(native.weights_to_host() == mixed.weights_to_host());
  // And back into bf16.
  Deep::with_precision<agd::bf16> again(64);
  agd::AGD again_optimizer(again);
  agd::io::load_checkpoint(file, again, again_optimizer);
  CHECK(again.weights_to_host() == mixed.weights_to_host());
  // A step of each from the same weights and batch: directions equal to bf16's precision.
  const agd::matrix<float> x = data.inputs.leftCols(64);
  native.forward(x);
  again.forward(x);
  const agd::matrix<float> g = agd::matrix<float>::Random(10, 64);
  native.backward(g);
  again.backward(g);
  // (Below the ReLUs more than bf16's 2^-8: see the convolutions' test above.)
  CHECK(relative(again.gradient_to_host(0), native.gradient_to_host(0)) < 0.15);
  CHECK(relative(again.gradient_to_host(2), native.gradient_to_host(2)) < 2e-2);
}

TEST_CASE("precision: where the CPU cannot multiply bf16 making a bf16 network says so",
          "[precision]") {
  const std::optional<std::string> reason = bf16_unavailable();
  if (!reason) {
    // ctest's precision.refused_without_bf16_instructions runs this with oneDNN held to
    // AVX-512 without BF16 (DNNL_MAX_CPU_ISA), where it must refuse.
    CHECK(std::getenv("AGD_TEST_EXPECT_NO_BF16") == nullptr);
    return;
  }
  INFO(*reason);
  // One sentence, naming the missing instructions and what to do.
  CHECK_THAT(*reason, Catch::Contains("AVX512-BF16") && Catch::Contains("fp32"));
  CHECK(reason->find('\n') == std::string::npos);
  if (std::getenv("AGD_TEST_EXPECT_NO_BF16") != nullptr)
    CHECK_THAT(*reason, Catch::Contains("DNNL_MAX_CPU_ISA"));
}
