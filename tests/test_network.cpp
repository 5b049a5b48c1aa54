// The compile-time facts of a network type and the runtime checks of its batch interface.
#include <agd/agd.hpp>

#include <boost/hana/equal.hpp>
#include <boost/hana/length.hpp>

#include <catch2/catch.hpp>

#include <Eigen/SVD>

#include <cmath>
#include <vector>

namespace {
constexpr double distance(double a, double b) {
  return a > b ? a - b : b - a;
}

using Net = agd::Sequential<agd::Dense<784, 512>, agd::Relu, agd::Dense<512, 512>, agd::Relu,
                            agd::Dense<512, 10>>;

// Everything below is constexpr: the checks happen at compile time.
static_assert(Net::depth == 3);
static_assert(Net::layer_count == 5);
static_assert(Net::input_size == 784 && Net::output_size == 10);
static_assert(Net::widths == std::array<std::size_t, 4>{784, 512, 512, 10});
static_assert(Net::parameter_count == 784 * 512 + 512 * 512 + 512 * 10);
static_assert(Net::weight_layer == std::array<std::size_t, 3>{0, 2, 4});
static_assert(Net::agd_scales[1] == 1.0);
static_assert(distance(Net::agd_scales[0], 0.80812203564176) < 1e-12);     // sqrt(512/784)
static_assert(distance(Net::agd_scales[2], 0.13975424859373686) < 1e-12);  // sqrt(10/512)
static_assert(distance(agd::constexpr_sqrt(2.0), 1.4142135623730951) <= 2.3e-16);
static_assert(agd::constexpr_sqrt(4.0) == 2.0 && agd::constexpr_sqrt(0.25) == 0.5);
static_assert(boost::hana::length(Net::layers) == boost::hana::size_c<5>);

using Deep = agd::FCN<784, 256, 10, 32>;
static_assert(Deep::depth == 32 && Deep::layer_count == 63);
static_assert(Deep::parameter_count == 784 * 256 + 30 * 256 * 256 + 256 * 10);
static_assert(std::is_same_v<agd::FCN<4, 8, 2, 1>, agd::Sequential<agd::Dense<4, 2>>>);
static_assert(std::is_same_v<agd::FCN<4, 8, 2, 2, agd::Relu>,
                             agd::Sequential<agd::Dense<4, 8>, agd::Relu, agd::Dense<8, 2>>>);
static_assert(agd::Layer<agd::Dense<3, 4>> && agd::Layer<agd::Relu>);
static_assert(agd::WeightedLayer<agd::Dense<3, 4>> && !agd::WeightedLayer<agd::Relu>);
// A layer runs on a backend because it has a kernel there: Dense through the backend's GEMM, the
// ReLUs as expressions, on every backend.
static_assert(agd::has_kernel<agd::Dense<3, 4>, agd::eigen::cpu>);
static_assert(agd::has_kernel<agd::Sqrt2Relu, agd::eigen::cpu>);
static_assert(agd::LayerKernel<agd::Dense<3, 4>, agd::eigen::cpu, double>);
static_assert(agd::LayerKernel<agd::Sqrt2Relu, agd::eigen::cpu>);
static_assert(agd::NetworkBackend<agd::eigen::cpu, float>);
// Capabilities are declared, not guessed: a member of the right name on a layer that does not
// derive from agd::layer_capabilities declares nothing.
struct LooksCoupled {
  static constexpr std::size_t input_size = agd::any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr bool has_weights = false;
  static constexpr bool couples_samples = true;
  static std::string name() { return "LooksCoupled"; }
};
struct DeclaresCoupled : LooksCoupled, agd::layer_capabilities {
  static constexpr bool couples_samples = true;
};
static_assert(!agd::layer_traits<LooksCoupled>::couples_samples);
static_assert(agd::layer_traits<DeclaresCoupled>::couples_samples);
static_assert(
    agd::layer_traits<agd::Conv2d<3, 8, 3>::bind<agd::tensor_shape{3, 8, 8}>>::weight_slices == 9);
static_assert(!agd::LayerKernel<LooksCoupled, agd::eigen::cpu>);
// The flat parameter layout: the weights one after the other, one AGD slice each.
static_assert(Net::weight_offsets == std::array<std::size_t, 4>{0, 784 * 512, 784 * 512 + 512 * 512,
                                                                Net::parameter_count});
static_assert(Net::slice_count == 3 && Net::slice_offsets[3] == Net::parameter_count);
}  // namespace

TEST_CASE("network: forward computes W3 relu(W2 relu(W1 x)) on a batch of columns", "[network]") {
  using Small = agd::basic_sequential<double, agd::Dense<3, 4>, agd::Relu, agd::Dense<4, 2>>;
  Small net(8);
  agd::AGD optimizer(net, {.seed = 5});
  const agd::matrix<double> x = agd::matrix<double>::Random(3, 6);
  const agd::matrix<double> expected = net.weight(1) * (net.weight(0) * x).cwiseMax(0.0);
  const agd::matrix<double> output = net.forward(x);
  CHECK(output.rows() == 2);
  CHECK(output.cols() == 6);
  CHECK((output - expected).cwiseAbs().maxCoeff() < 1e-14);
  CHECK(net.batch_size() == 6);
}

TEST_CASE("network: orthogonal init preserves the input norm through Sqrt2Relu layers",
          "[network]") {
  // The reason for the official code's sqrt(2): on a 16-layer net with plain ReLU the output
  // norm shrinks by about 2^(-15/2), with Sqrt2Relu it stays of the order of the input's.
  using Scaled = agd::FCN<64, 64, 64, 16, agd::Sqrt2Relu>;
  using Plain = agd::FCN<64, 64, 64, 16, agd::Relu>;
  Scaled scaled(256);
  Plain plain(256);
  agd::AGD a(scaled, {.seed = 1});
  agd::AGD b(plain, {.seed = 1});
  const agd::matrix<float> x = agd::matrix<float>::Random(64, 256);
  const double ratio_scaled = scaled.forward(x).norm() / x.norm();
  const double ratio_plain = plain.forward(x).norm() / x.norm();
  CHECK(ratio_scaled > 0.3);
  CHECK(ratio_scaled < 3.0);
  CHECK(ratio_plain < 0.02);
}

TEST_CASE("network: bad batches are rejected with a message that says what to do", "[network]") {
  Net net(16);
  CHECK_THROWS_WITH(net.forward(agd::matrix<float>::Zero(783, 4)),
                    Catch::Contains("783 rows but the network expects 784"));
  CHECK_THROWS_WITH(net.forward(agd::matrix<float>::Zero(784, 17)),
                    Catch::Contains("17 samples does not fit the batch capacity 16"));
  net.forward(agd::matrix<float>::Zero(784, 4));
  CHECK_THROWS_WITH(net.backward(agd::matrix<float>::Zero(10, 5)),
                    Catch::Contains("5 columns but the last forward pass had 4"));
  CHECK_THROWS_AS(Net(0), std::invalid_argument);
}

TEST_CASE("network: summary names every layer with its shapes", "[network]") {
  const std::string summary = Net::summary();
  CHECK_THAT(summary, Catch::Contains("depth L = 3"));
  CHECK_THAT(summary, Catch::Contains("1. Dense<784,512>  784 -> 512  weights 512x784"));
  CHECK_THAT(summary, Catch::Contains("4. Relu  512 -> 512"));
}

TEST_CASE("network: a network is initialised when constructed, and optimisers keep its weights",
          "[network][init]") {
  using Small = agd::basic_sequential<double, agd::Dense<6, 8>, agd::Relu, agd::Dense<8, 3>>;
  Small net(4);
  // AGD's orthogonal initialisation, seed 0: every singular value is sqrt(d_k / d_{k-1}).
  for (std::size_t k = 0; k < Small::depth; ++k) {
    const Eigen::JacobiSVD<agd::matrix<double>> svd(net.weight(k));
    CHECK((svd.singularValues().array() - Small::agd_scales[k]).abs().maxCoeff() < 1e-12);
  }
  Small same(4), other(4, 7);
  CHECK(same.weight(0) == net.weight(0));   // seeded: the same weights
  CHECK(other.weight(0) != net.weight(0));  // another seed, other weights
  // Weights set (or loaded) before an optimiser is constructed survive it unless it is given a
  // seed, which re-initialises them its own way.
  net.weight(0).setConstant(0.25);
  agd::AGD keeps(net);
  agd::Adam<Small> also_keeps(net);
  CHECK((net.weight(0).array() == 0.25).all());
  agd::Adam<Small> reinitialises(net, {.seed = 3});
  CHECK((net.weight(0).array() != 0.25).any());
  CHECK(net.weight(0).cwiseAbs().maxCoeff() <= 1.0 / std::sqrt(6.0));  // Kaiming-uniform's bound
}

TEST_CASE("network: forward() returns a result of its own, forward_view() the reused buffer",
          "[network]") {
  using Small = agd::basic_sequential<double, agd::Dense<3, 4>, agd::Relu, agd::Dense<4, 2>>;
  Small net(8);
  const agd::matrix<double> a = agd::matrix<double>::Random(3, 5);
  const agd::matrix<double> b = agd::matrix<double>::Random(3, 5);
  const auto first = net.forward(a);
  const agd::matrix<double> copy_of_first = first;
  net.forward(b);
  CHECK(first == copy_of_first);  // the second pass did not change the first result
  const auto view = net.forward_view(a);
  CHECK(agd::matrix<double>(view) == copy_of_first);
  net.forward(b);
  CHECK(agd::matrix<double>(view) != copy_of_first);  // a view shows the latest pass
}
