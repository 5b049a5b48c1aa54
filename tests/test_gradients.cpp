// Finite-difference checks, in double precision, of every backward pass: each layer, each loss
// and whole networks. Central differences with h = 1e-6 have truncation error ~h^2 and rounding
// error ~1e-16/h, so analytic and numeric gradients must agree to ~1e-7 relative.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include "finite_differences.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
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
  mat gradient = mat::Constant(10, 6, std::numeric_limits<double>::quiet_NaN());
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
  // NaN-filled: the kernels must write every entry and never read (or add to) what was there.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  mat dw = mat::Constant(4, 6, nan), dx = mat::Constant(6, 3, nan);
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
                    Catch::Contains("2 samples, one per column) but 1 labels"));
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

namespace {

/// The training path: the loss and its gradient as train::fit takes them (loss/evaluate.hpp's
/// batch_loss on the network's output and label buffer, then backward()), over a batch of 5
/// samples in a network of capacity 8, each compared with central differences of batch_loss's
/// value. `mean_over` as a data-parallel rank passes it (0: this batch).
template <class Loss>
void check_training_path(std::uint64_t seed, std::size_t mean_over) {
  constexpr Eigen::Index batch = 5;
  ThreeLayer net(8);
  agd::AGD<ThreeLayer> optimizer(net, {.seed = seed});
  const mat inputs = random_matrix(ThreeLayer::input_size, batch, seed + 20);
  const std::vector<std::int32_t> labels{2, 0, 1, 1, 2};
  std::copy(labels.begin(), labels.end(), net.label_buffer());
  const auto loss_of_output = [&] {
    return double(agd::batch_loss<Loss>(net, net.label_buffer(), false, mean_over));
  };
  const auto loss_of_forward = [&] {
    net.input_buffer().leftCols(batch) = inputs;
    net.forward_batch(batch);
    return loss_of_output();
  };
  loss_of_forward();
  const double value = agd::batch_loss<Loss>(net, net.label_buffer(), true, mean_over);
  const mat output_gradient = net.output_gradient();
  net.backward();
  std::vector<mat> weight_gradients;
  for (std::size_t k = 0; k < ThreeLayer::depth; ++k) weight_gradients.push_back(net.gradient(k));

  // The value is the host API's batch mean, rescaled to the divisor a rank uses.
  const double divisor = mean_over ? double(mean_over) : double(batch);
  CHECK(value ==
        Approx(Loss::template value<double>(net.output(), labels) * double(batch) / divisor)
            .epsilon(1e-12));
  // dLoss/dOutput: differences of batch_loss on the stored output (no forward pass between).
  CHECK(output_gradient.cols() == batch);
  CHECK(relative_error(output_gradient, numeric_gradient(net.output(), loss_of_output)) < 1e-7);
  // dLoss/dW_k through backward(): differences of the whole forward pass and loss.
  for (std::size_t k = 0; k < ThreeLayer::depth; ++k) {
    INFO("weight " << k);
    CHECK(relative_error(weight_gradients[k], numeric_gradient(net.weight(k), loss_of_forward)) <
          1e-6);
  }
}

/// A batch of n = 3 samples with d_L = 4 outputs, whose losses and gradients are worked out by
/// hand below. Targets are sqrt(4) * onehot = 2 * onehot; the residuals f - y are
///   sample 0: f = (1, 0, 0, 1), label 2, f - y = (1, 0, -2, 1),  ||f - y||^2 = 6
///   sample 1: f = (2, 0, 0, 0), label 0, f - y = (0, 0, 0, 0),   ||f - y||^2 = 0
///   sample 2: f = (0, 1, 1, 0), label 3, f - y = (0, 1, 1, -2),  ||f - y||^2 = 6
struct hand_batch {
  mat output = (mat(4, 3) << 1, 2, 0,  //
                0, 0, 1,               //
                0, 0, 1,               //
                1, 0, 0)
                   .finished();
  std::vector<std::int32_t> labels{2, 0, 3};
  mat residual = (mat(4, 3) << 1, 0, 0,  //
                  0, 0, 1,               //
                  -2, 0, 1,              //
                  1, 0, -2)
                     .finished();
};

struct hand_result {
  double value;
  mat gradient;
};

/// MSE: the mean over the batch and the classes of (f - y)^2 = 12 / (4 * 3) = 1; its gradient
/// 2 (f - y) / (d_L n) = (f - y) / 6.
hand_result hand_mse(const hand_batch& b) {
  return {1.0, b.residual / 6.0};
}
/// Square loss: (1/n) sum ||f - y||^2 / (2 d_L) = (6 + 0 + 6) / 8 / 3 = 0.5; its gradient
/// (f - y) / (d_L n) = (f - y) / 12.
hand_result hand_square(const hand_batch& b) {
  return {0.5, b.residual / 12.0};
}
/// Cross-entropy: log sum_c exp(f_c) - f_label, per sample log(2e + 2) - 0, log(e^2 + 3) - 2 and
/// log(2e + 2) - 0, averaged over 3; the gradient (softmax(f) - onehot(label)) / 3.
hand_result hand_cross_entropy(const hand_batch&) {
  const double e = std::exp(1.0), e2 = std::exp(2.0);
  const double a = 2 * e + 2, b = e2 + 3;
  mat softmax(4, 3);
  softmax << e / a, e2 / b, 1 / a,  //
      1 / a, 1 / b, e / a,          //
      1 / a, 1 / b, e / a,          //
      e / a, 1 / b, 1 / a;
  mat onehot = mat::Zero(4, 3);
  onehot(2, 0) = onehot(0, 1) = onehot(3, 2) = 1;
  return {(2 * std::log(a) + std::log(b) - 2) / 3, (softmax - onehot) / 3.0};
}

/// The hand-worked batch through both ways a loss is taken: the host API (value,
/// value_and_gradient) and the training path (batch_loss on a network's output buffer).
template <class Loss>
void check_hand_batch(const hand_result& expected) {
  const hand_batch b;
  mat gradient = mat::Constant(4, 3, std::numeric_limits<double>::quiet_NaN());
  CHECK(Loss::template value<double>(b.output, b.labels) == Approx(expected.value).epsilon(1e-14));
  CHECK(Loss::template value_and_gradient<double>(b.output, b.labels, gradient) ==
        Approx(expected.value).epsilon(1e-14));
  CHECK((gradient - expected.gradient).cwiseAbs().maxCoeff() < 1e-15);

  // The training path: a network with 4 outputs, capacity 5, its output buffer overwritten with
  // the batch after a forward pass of 3 samples.
  agd::basic_sequential<double, agd::Dense<2, 4>> net(5);
  net.input_buffer().setZero();
  net.forward_batch(3);
  auto output = net.output();
  output = b.output;
  std::copy(b.labels.begin(), b.labels.end(), net.label_buffer());
  CHECK(agd::batch_loss<Loss>(net, net.label_buffer(), true) ==
        Approx(expected.value).epsilon(1e-14));
  CHECK((net.output_gradient() - expected.gradient).cwiseAbs().maxCoeff() < 1e-15);
  // A rank of a data-parallel step with 3 of a global batch of 6 samples: half of each.
  CHECK(agd::batch_loss<Loss>(net, net.label_buffer(), true, 6) ==
        Approx(expected.value / 2).epsilon(1e-14));
  CHECK((net.output_gradient() - expected.gradient / 2).cwiseAbs().maxCoeff() < 1e-15);
}

}  // namespace

TEST_CASE("gradients: MSELoss of a 4x3 batch by hand, host API and training path",
          "[gradients][batch]") {
  check_hand_batch<agd::MSELoss>(hand_mse(hand_batch{}));
}
TEST_CASE("gradients: SquareLoss of a 4x3 batch by hand, host API and training path",
          "[gradients][batch]") {
  check_hand_batch<agd::SquareLoss>(hand_square(hand_batch{}));
}
TEST_CASE("gradients: CrossEntropyLoss of a 4x3 batch by hand, host API and training path",
          "[gradients][batch]") {
  check_hand_batch<agd::CrossEntropyLoss>(hand_cross_entropy(hand_batch{}));
}

TEST_CASE("gradients: the training path (batch_loss, backward) over 5 samples, square loss",
          "[gradients][batch]") {
  check_training_path<agd::SquareLoss>(21, 0);
}
TEST_CASE("gradients: the training path (batch_loss, backward) over 5 samples, MSE",
          "[gradients][batch]") {
  check_training_path<agd::MSELoss>(22, 0);
}
TEST_CASE("gradients: the training path (batch_loss, backward) over 5 samples, cross-entropy",
          "[gradients][batch]") {
  check_training_path<agd::CrossEntropyLoss>(23, 0);
}
TEST_CASE("gradients: the training path of a rank's 5 samples of a global batch of 12",
          "[gradients][batch]") {
  check_training_path<agd::MSELoss>(24, 12);
  check_training_path<agd::CrossEntropyLoss>(25, 12);
}

TEST_CASE("gradients: the loss API refuses wrong shapes, naming the function and both shapes",
          "[gradients][shapes]") {
  const mat output = random_matrix(3, 4, 30);
  const std::vector<std::int32_t> labels{0, 1, 2, 0};
  // A 3x1 gradient for a 3x4 output used to be written past its end.
  mat too_small = mat::Constant(3, 1, 7.0);
  CHECK_THROWS_WITH(agd::MSELoss::value_and_gradient<double>(output, labels, too_small),
                    Catch::Contains("agd::MSELoss::value_and_gradient: the gradient is 3x1 but "
                                    "the output is 3x4"));
  CHECK((too_small.array() == 7.0).all());  // nothing written
  mat transposed(4, 3), too_large(3, 5);
  CHECK_THROWS_WITH(agd::SquareLoss::value_and_gradient<double>(output, labels, transposed),
                    Catch::Contains("agd::SquareLoss::value_and_gradient: the gradient is 4x3 "
                                    "but the output is 3x4"));
  CHECK_THROWS_WITH(agd::CrossEntropyLoss::value_and_gradient<double>(output, labels, too_large),
                    Catch::Contains("agd::CrossEntropyLoss::value_and_gradient: the gradient is "
                                    "3x5 but the output is 3x4"));

  const std::vector<std::int32_t> three_labels{0, 1, 2};
  mat gradient(3, 4);
  CHECK_THROWS_WITH(agd::SquareLoss::value<double>(output, three_labels),
                    Catch::Contains("agd::SquareLoss::value: the output is 3x4 (4 samples, one "
                                    "per column) but 3 labels were given"));
  CHECK_THROWS_WITH(
      agd::CrossEntropyLoss::value_and_gradient<double>(output, three_labels, gradient),
      Catch::Contains("agd::CrossEntropyLoss::value_and_gradient: the output is 3x4 (4 samples, "
                      "one per column) but 3 labels were given"));
  // No samples: the mean of nothing is refused, not returned as NaN.
  CHECK_THROWS_WITH(agd::MSELoss::value<double>(mat(3, 0), std::vector<std::int32_t>{}),
                    Catch::Contains("agd::MSELoss::value: the output is 3x0: no samples"));

  // The accuracy's count reads one label per column.
  const std::vector<std::int32_t> five_labels{0, 1, 2, 0, 1};
  CHECK_THROWS_WITH(agd::count_correct<double>(output, five_labels),
                    Catch::Contains("agd::count_correct: the output is 3x4 (4 samples, one per "
                                    "column) but 5 labels were given"));
  CHECK(agd::count_correct<double>(output, labels) <= 4);
}

TEST_CASE("gradients: batch_loss and batch_correct refuse a network with no forward pass",
          "[gradients][shapes]") {
  ThreeLayer net(8);
  CHECK_THROWS_WITH(agd::batch_loss<agd::MSELoss>(net, net.label_buffer()),
                    Catch::Contains("agd::batch_loss<mse>: the network's output is 3x0: no "
                                    "forward pass"));
  CHECK_THROWS_WITH(agd::batch_correct(net, net.label_buffer()),
                    Catch::Contains("agd::batch_correct: the network's output is 3x0: no forward "
                                    "pass"));
  net.input_buffer().setZero();
  net.forward_batch(4);
  std::fill(net.label_buffer(), net.label_buffer() + 4, 0);
  CHECK_THROWS_WITH(agd::batch_loss<agd::CrossEntropyLoss>(net, nullptr),
                    Catch::Contains("agd::batch_loss<xent>: the labels are a null pointer"));
  CHECK_THROWS_WITH(agd::batch_correct(net, nullptr),
                    Catch::Contains("agd::batch_correct: the labels are a null pointer"));
  // A mean over fewer samples than the output holds.
  CHECK_THROWS_WITH(agd::batch_loss<agd::SquareLoss>(net, net.label_buffer(), true, 3),
                    Catch::Contains("agd::batch_loss<square>: mean_over is 3 but the network's "
                                    "output is 3x4 (4 samples)"));
  CHECK(agd::batch_loss<agd::SquareLoss>(net, net.label_buffer(), true, 4) >= 0.0);
  CHECK(agd::batch_correct(net, net.label_buffer()) <= 4.0);
}
