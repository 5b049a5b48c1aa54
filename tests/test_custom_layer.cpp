// The worked example of docs/writing-a-layer.md: a layer defined outside the library (a leaky
// ReLU with the gain that keeps the signal's norm through depth, as Sqrt2Relu does for the
// ReLU), checked against the layer concept, finite differences, the network's forward pass and
// a training run with AGD. If this file changes, change the document with it.
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include "finite_differences.hpp"

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>

namespace my {

/// leaky(z) = gain * (z > 0 ? z : slope * z). For z symmetric about 0, E[leaky(z)^2] is
/// gain^2 (1 + slope^2) / 2 E[z^2], so gain = sqrt(2 / (1 + slope^2)) keeps the norm of the
/// signal through an orthogonally initialised network (slope 0 gives Sqrt2Relu's sqrt(2)).
/// KeepNorm = false leaves the gain at 1.
///
/// Written once as expressions of the input x: every backend (the CPU's vectorised loop, CUDA's
/// one-kernel transform) runs it, with no kernel code of its own.
template <double Slope, bool KeepNorm = true>
struct LeakyRelu : agd::elementwise_activation {
  static_assert(Slope >= 0.0 && Slope < 1.0, "my::LeakyRelu: the slope must be in [0, 1)");
  static constexpr double gain = KeepNorm ? agd::constexpr_sqrt(2.0 / (1.0 + Slope * Slope)) : 1.0;

  static constexpr auto function =
      agd::expr::where(agd::expr::x > 0.0, gain* agd::expr::x, gain* Slope* agd::expr::x);
  /// d leaky / dz; the backward pass is derivative * dy, fused into one pass.
  static constexpr auto derivative = agd::expr::where(agd::expr::x > 0.0, gain, gain* Slope);

  static std::string name() {
    return std::string(KeepNorm ? "LeakyRelu<" : "PlainLeakyRelu<") + std::to_string(Slope) + ">";
  }
};

/// A layer with a kernel for one backend only: its CPU kernel is written with Eigen, by
/// specialising agd::layer_kernel. It runs on the CPU; on CUDA it is refused at compile time,
/// naming the layer and the backend (tests/compile_fail/no_cuda_kernel.cpp).
struct SoftSign {
  static constexpr std::size_t input_size = agd::any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr bool has_weights = false;
  static std::string name() { return "SoftSign"; }
};

}  // namespace my

/// softsign(z) = z / (1 + |z|), on the CPU backend, with Eigen on the block of samples it is given.
template <>
struct agd::layer_kernel<my::SoftSign, agd::eigen::cpu> : agd::kernel_defaults {
  template <class S>
  static void forward(agd::eigen::cpu::context&, agd::matrix_view<const S> x, agd::matrix_view<S> y,
                      std::byte*) {
    const auto in = agd::eigen::as_eigen(x).array();
    agd::eigen::as_eigen(y).array() = in / (S(1) + in.abs());
  }
  /// d softsign / dz = 1 / (1 + |z|)^2.
  template <class S>
  static void backward(agd::eigen::cpu::context&, agd::matrix_view<const S> x,
                       agd::matrix_view<const S>, agd::matrix_view<const S> dy,
                       agd::matrix_view<S> dx, std::byte*) {
    const auto in = agd::eigen::as_eigen(x).array();
    agd::eigen::as_eigen(dx).array() =
        agd::eigen::as_eigen(dy).array() / (S(1) + in.abs()).square();
  }
};

// It is an activation, so Sequential and FCN take it like agd::Relu, and it has a kernel for both
// backends without any code of its own.
static_assert(agd::ElementwiseActivation<my::LeakyRelu<0.1>>);
static_assert(!agd::WeightedLayer<my::LeakyRelu<0.1>>);
static_assert(agd::has_kernel<my::LeakyRelu<0.1>, agd::eigen::cpu>);
static_assert(agd::has_kernel<my::SoftSign, agd::eigen::cpu>);

namespace {

using agd_test::mat;
constexpr auto gaussian = agd_test::random_matrix;

/// n samples of a 10-class Gaussian mixture in `dims` dimensions: class c is centred on a random
/// point of norm 3, with unit noise.
agd::data::dataset mixture(std::size_t n, int dims, std::uint64_t seed) {
  const mat centres = gaussian(dims, 10, 99).colwise().normalized() * 3.0;
  const mat noise = gaussian(dims, Eigen::Index(n), seed);
  agd::data::dataset data;
  data.inputs.resize(dims, Eigen::Index(n));
  data.labels.resize(n);
  for (std::size_t j = 0; j < n; ++j) {
    const auto label = std::int32_t(j % 10);
    data.labels[j] = label;
    data.inputs.col(Eigen::Index(j)) =
        (centres.col(label) + noise.col(Eigen::Index(j))).cast<float>();
  }
  return data;
}

}  // namespace

TEST_CASE("custom layer: LeakyRelu's backward matches finite differences", "[custom_layer]") {
  using Leaky = my::LeakyRelu<0.1>;
  mat x = gaussian(7, 5, 1);
  for (Eigen::Index i = 0; i < x.size(); ++i)  // away from the kink at 0
    if (std::abs(x.data()[i]) < 0.05) x.data()[i] = x.data()[i] < 0 ? -0.05 : 0.05;
  const mat upstream = gaussian(7, 5, 2);  // f(x) = sum(upstream .* leaky(x))
  auto f = [&] {
    mat y(7, 5);
    agd::eigen::layer_forward<Leaky, double>(x, y);
    return y.cwiseProduct(upstream).sum();
  };
  mat y(7, 5), dx(7, 5);
  agd::eigen::layer_forward<Leaky, double>(x, y);
  agd::eigen::layer_backward<Leaky, double>(x, y, upstream, dx);
  const double worst = (agd_test::numeric_gradient(x, f) - dx).cwiseAbs().maxCoeff();
  CHECK(worst < 1e-7 * upstream.cwiseAbs().maxCoeff());
  // Negative inputs pass gain * slope of their gradient, positive ones gain.
  CHECK(Leaky::gain == Approx(std::sqrt(2.0 / 1.01)).epsilon(1e-15));
}

TEST_CASE("custom layer: a layer with a CPU kernel of its own has exact gradients",
          "[custom_layer]") {
  mat x = gaussian(7, 5, 11);
  const mat upstream = gaussian(7, 5, 12);
  auto f = [&] {
    mat y(7, 5);
    agd::eigen::layer_forward<my::SoftSign, double>(x, y);
    return y.cwiseProduct(upstream).sum();
  };
  mat y(7, 5), dx(7, 5);
  agd::eigen::layer_forward<my::SoftSign, double>(x, y);
  CHECK(y(0, 0) == Approx(x(0, 0) / (1 + std::abs(x(0, 0)))));
  agd::eigen::layer_backward<my::SoftSign, double>(x, y, upstream, dx);
  CHECK((agd_test::numeric_gradient(x, f) - dx).cwiseAbs().maxCoeff() <
        1e-7 * upstream.cwiseAbs().maxCoeff());
  // And in a network, trained by AGD like any other.
  using Net = agd::basic_sequential<double, agd::Dense<6, 8>, my::SoftSign, agd::Dense<8, 3>>;
  Net net(4);
  const mat inputs = gaussian(6, 4, 13);
  const std::vector<std::int32_t> labels{0, 1, 2, 0};
  net.forward(inputs);
  agd::MSELoss::value_and_gradient<double>(net.output(), labels, net.output_gradient());
  net.backward();
  auto loss = [&] { return agd::MSELoss::value<double>(net.forward(inputs), labels); };
  for (std::size_t k = 0; k < Net::depth; ++k) {
    const mat analytic = net.gradient(k);
    CHECK((agd_test::numeric_gradient(net.weight(k), loss) - analytic).cwiseAbs().maxCoeff() <
          1e-6 * analytic.cwiseAbs().maxCoeff());
  }
}

TEST_CASE("custom layer: a network of it has exact weight gradients", "[custom_layer]") {
  using Net = agd::basic_sequential<double, agd::Dense<6, 8>, my::LeakyRelu<0.2>, agd::Dense<8, 5>,
                                    my::LeakyRelu<0.2>, agd::Dense<5, 3>>;
  static_assert(Net::depth == 3 && Net::parameter_count == 6 * 8 + 8 * 5 + 5 * 3);
  CHECK(Net::summary().find("LeakyRelu<0.200000>") != std::string::npos);
  Net net(4);
  agd::AGD optimizer(net, {.seed = 3});
  mat inputs = gaussian(6, 4, 4);
  const std::vector<std::int32_t> labels{0, 1, 2, 0};
  net.forward(inputs);
  agd::MSELoss::value_and_gradient<double>(net.output(), labels, net.output_gradient());
  net.backward();
  auto loss = [&] { return agd::MSELoss::value<double>(net.forward(inputs), labels); };
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("weight " << k);
    const mat analytic = net.gradient(k);
    const double worst =
        (agd_test::numeric_gradient(net.weight(k), loss) - analytic).cwiseAbs().maxCoeff();
    CHECK(worst < 1e-6 * std::max(1e-12, analytic.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("custom layer: the gain keeps the signal's norm through 16 layers", "[custom_layer]") {
  // Square layers, so every AGD scale is 1 and the orthogonal weights preserve norms exactly;
  // only the activations change the norm.
  using Kept = agd::FCN<64, 64, 64, 16, my::LeakyRelu<0.1>, double>;
  using Plain = agd::FCN<64, 64, 64, 16, my::LeakyRelu<0.1, false>, double>;
  Kept kept(32);
  Plain plain(32);
  agd::AGD kept_optimizer(kept, {.seed = 5});  // the same seed: the same orthogonal weights
  agd::AGD plain_optimizer(plain, {.seed = 5});
  const mat x = gaussian(64, 32, 6);
  const mat kept_out = kept.forward(x);
  const mat plain_out = plain.forward(x);
  // The activation is positively homogeneous, so the gain comes out of all 15 of them exactly.
  CHECK((kept_out - std::pow(my::LeakyRelu<0.1>::gain, 15) * plain_out).norm() <
        1e-10 * kept_out.norm());
  // With the gain the output keeps the input's norm to within a small factor; without it the
  // norm shrinks by about sqrt((1 + 0.01) / 2) per layer, ~0.006 after 15.
  const double kept_ratio = kept_out.norm() / x.norm();
  const double plain_ratio = plain_out.norm() / x.norm();
  CHECK(kept_ratio > 0.5);
  CHECK(kept_ratio < 2.0);
  CHECK(plain_ratio < 0.02);
}

TEST_CASE("custom layer: AGD trains a network of it", "[custom_layer]") {
  using Net = agd::FCN<20, 64, 10, 4, my::LeakyRelu<0.1>>;
  const auto train = mixture(4000, 20, 7);
  const auto test = mixture(1000, 20, 8);
  Net net(100);
  agd::AGD optimizer(net, {.seed = 9});
  const double initial_loss = agd::train::evaluate(net, agd::MSELoss{}, test).loss;
  std::ostringstream log;
  agd::train::fit_options options;
  options.epochs = 5;
  options.seed = 10;
  options.log = &log;
  const auto history = agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options);
  REQUIRE(history.size() == 5);
  // Ten centres of norm 3 with unit noise in 20 dimensions overlap little: the network must
  // classify most test samples and its loss must fall well below where it started.
  CHECK(history.back().test_accuracy > 0.85);
  CHECK(history.back().test_loss < 0.6 * initial_loss);
  CHECK(history.back().mean_eta > 0.0);
}
