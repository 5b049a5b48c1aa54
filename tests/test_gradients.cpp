// Finite-difference checks, in double precision, of every backward pass: each layer, each loss
// and whole networks. Central differences with h = 1e-6 have truncation error ~h^2 and rounding
// error ~1e-16/h, so analytic and numeric gradients must agree to ~1e-7 relative.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include "finite_differences.hpp"

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace {

using agd_test::mat;
using agd_test::numeric_gradient;
using agd_test::random_matrix;
using agd_test::relative_error;

/// Keeps entries away from the ReLU kink, where finite differences are meaningless.
void push_away_from_zero(mat& m) {
  for (Eigen::Index i = 0; i < m.size(); ++i)
    if (std::abs(m.data()[i]) < 0.05) m.data()[i] = m.data()[i] < 0 ? -0.05 : 0.05;
}

template <class Activation>
void check_activation() {
  mat x = random_matrix(7, 5, 1);
  push_away_from_zero(x);
  const mat weights = random_matrix(7, 5, 2);  // f(x) = sum(weights .* act(x))
  mat y(7, 5), dx(7, 5);
  agd::eigen::layer_forward<Activation, double>(x, y);
  agd::eigen::layer_backward<Activation, double>(x, y, weights, dx);
  const mat numeric = numeric_gradient(x, [&] {
    mat out(7, 5);
    agd::eigen::layer_forward<Activation, double>(x, out);
    return out.cwiseProduct(weights).sum();
  });
  CHECK(relative_error(dx, numeric) < 1e-7);
}

template <class Loss>
void check_loss() {
  mat output = random_matrix(10, 6, 3);
  const std::vector<std::int32_t> labels{0, 9, 3, 3, 7, 1};
  mat gradient(10, 6);
  const double value = Loss::template value_and_gradient<double>(output, labels, gradient);
  CHECK(value == Approx(Loss::template value<double>(output, labels)).epsilon(1e-12));
  const mat numeric =
      numeric_gradient(output, [&] { return Loss::template value<double>(output, labels); });
  CHECK(relative_error(gradient, numeric) < 1e-7);
}

template <class Net, class Loss>
void check_network_weight_gradients(std::uint64_t seed) {
  constexpr Eigen::Index batch = 5;
  Net net(batch);
  agd::AGD<Net> optimizer(net, {.seed = seed});  // orthogonal init, as in training
  const mat inputs = random_matrix(Net::input_size, batch, seed + 10);
  std::vector<std::int32_t> labels;
  for (Eigen::Index j = 0; j < batch; ++j)
    labels.push_back(std::int32_t(j % Eigen::Index(Net::output_size)));
  auto loss = [&] { return Loss::template value<double>(net.forward(inputs), labels); };

  net.forward(inputs);
  Loss::template value_and_gradient<double>(net.output(), labels, net.output_gradient());
  net.backward();
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("weight " << k);
    const mat analytic = net.gradient(k);
    const mat numeric = numeric_gradient(net.weight(k), loss);
    CHECK(relative_error(analytic, numeric) < 1e-6);
  }
}

}  // namespace

TEST_CASE("gradients: Dense<In,Out> weight and input gradients", "[gradients]") {
  using D = agd::Dense<6, 4>;
  mat w = random_matrix(4, 6, 4), x = random_matrix(6, 3, 5);
  const mat upstream = random_matrix(4, 3, 6);  // f = sum(upstream .* (W x))
  auto f = [&] {
    mat y(4, 3);
    agd::eigen::layer_forward<D, double>(w, x, y);
    return y.cwiseProduct(upstream).sum();
  };
  mat dw(4, 6), dx(6, 3);
  agd::eigen::layer_backward_weights<D, double>(x, upstream, dw);
  agd::eigen::layer_backward_inputs<D, double>(w, upstream, dx);
  CHECK(relative_error(dw, numeric_gradient(w, f)) < 1e-7);
  CHECK(relative_error(dx, numeric_gradient(x, f)) < 1e-7);
}

TEST_CASE("gradients: Relu", "[gradients]") {
  check_activation<agd::Relu>();
}
TEST_CASE("gradients: Sqrt2Relu", "[gradients]") {
  check_activation<agd::Sqrt2Relu>();
}

TEST_CASE("gradients: the two ReLUs differ by exactly sqrt(2)", "[gradients]") {
  const mat x = random_matrix(4, 4, 7);
  mat plain(4, 4), scaled(4, 4);
  agd::eigen::layer_forward<agd::Relu, double>(x, plain);
  agd::eigen::layer_forward<agd::Sqrt2Relu, double>(x, scaled);
  CHECK((scaled - std::sqrt(2.0) * plain).cwiseAbs().maxCoeff() < 1e-15);
  CHECK(plain.minCoeff() == 0.0);
}

TEST_CASE("gradients: SquareLoss (paper)", "[gradients]") {
  check_loss<agd::SquareLoss>();
}
TEST_CASE("gradients: MSELoss (official code)", "[gradients]") {
  check_loss<agd::MSELoss>();
}
TEST_CASE("gradients: CrossEntropyLoss", "[gradients]") {
  check_loss<agd::CrossEntropyLoss>();
}

TEST_CASE("gradients: loss values by hand", "[gradients]") {
  // d_L = 4, one sample, label 2: target (0, 0, 2, 0) since sqrt(4) = 2.
  mat output(4, 1);
  output << 1, 0, 0, 1;
  const std::vector<std::int32_t> label{2};
  // ||f - y||^2 = 1 + 0 + 4 + 1 = 6.
  CHECK(agd::SquareLoss::value<double>(output, label) == Approx(6.0 / (2 * 4)));
  CHECK(agd::MSELoss::value<double>(output, label) == Approx(6.0 / 4));
  // -log softmax_2 = log(e + 1 + 1 + e) - 0.
  CHECK(agd::CrossEntropyLoss::value<double>(output, label) ==
        Approx(std::log(2 * std::exp(1.0) + 2)));
}

TEST_CASE("gradients: cross-entropy is stable for huge logits", "[gradients]") {
  mat output(3, 1);
  output << 1000, 0, -1000;
  mat gradient(3, 1);
  const std::vector<std::int32_t> label{1};
  const double value = agd::CrossEntropyLoss::value_and_gradient<double>(output, label, gradient);
  CHECK(value == Approx(1000.0));
  CHECK(gradient(0, 0) == Approx(1.0));
  CHECK(gradient(1, 0) == Approx(-1.0));
  CHECK(std::isfinite(gradient(2, 0)));
}

TEST_CASE("gradients: losses reject bad labels with a clear message", "[gradients]") {
  mat output = mat::Zero(10, 2), gradient(10, 2);
  const std::vector<std::int32_t> bad{0, 10};
  CHECK_THROWS_WITH(agd::MSELoss::value_and_gradient<double>(output, bad, gradient),
                    Catch::Contains("label 10 of sample 1 is outside [0, 10)"));
  const std::vector<std::int32_t> short_labels{0};
  CHECK_THROWS_WITH(agd::SquareLoss::value<double>(output, short_labels),
                    Catch::Contains("2 samples (columns) but 1 labels"));
}

using ThreeLayer = agd::basic_sequential<double, agd::Dense<6, 8>, agd::Sqrt2Relu, agd::Dense<8, 5>,
                                         agd::Relu, agd::Dense<5, 3>>;
static_assert(ThreeLayer::depth == 3);

TEST_CASE("gradients: a whole 3-layer network, square loss", "[gradients]") {
  check_network_weight_gradients<ThreeLayer, agd::SquareLoss>(11);
}
TEST_CASE("gradients: a whole 3-layer network, MSE", "[gradients]") {
  check_network_weight_gradients<ThreeLayer, agd::MSELoss>(12);
}
TEST_CASE("gradients: a whole 3-layer network, cross-entropy", "[gradients]") {
  check_network_weight_gradients<ThreeLayer, agd::CrossEntropyLoss>(13);
}
