// The GPU backend's fused AGD step (include/agd/backend/cuda/fused_agd_step.hpp), built here
// with Thrust's host (CPP) device system so that the CPU-only CI runs it: on the weights and
// gradients of real networks (a dense network and a CNN with per-slice kernels) it must give
// agd::AGD's G, eta and updated weights, and leave every weight alone on a NaN gradient.
#include <agd/agd.hpp>
#include <agd/backend/cuda/fused_agd_step.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace {

/// Every weight (or gradient) of `net`, one tensor after the other, as the device buffer holds
/// them.
template <class Net, class Get>
thrust::device_vector<float> flatten(Net& net, Get get) {
  std::vector<float> flat;
  for (std::size_t k = 0; k < Net::depth; ++k) {
    const auto& m = get(net, k);
    flat.insert(flat.end(), m.data(), m.data() + m.size());
  }
  return thrust::device_vector<float>(flat.begin(), flat.end());
}

template <class Net>
void check_against_cpu_agd(std::uint64_t seed) {
  constexpr Eigen::Index n = 4;
  Net net(n);
  agd::AGD cpu(net, {.seed = seed});
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(Net::input_size, n);
  const std::vector<std::int32_t> labels{1, 0, 2, 1};
  net.forward(x);
  agd::MSELoss::value_and_gradient<float>(net.output(), labels, net.output_gradient());
  net.backward();

  constexpr auto layout = agd::cuda::layout_of<Net>();
  agd::cuda::fused_agd_step fused(layout);
  auto weights = flatten(
      net, [](Net & m, std::size_t k) -> auto& { return m.weight(k); });
  const auto gradients = flatten(
      net, [](Net & m, std::size_t k) -> auto& { return m.gradient(k); });
  REQUIRE(weights.size() == Net::parameter_count);
  fused.step(weights.data(), gradients.data());
  const double eta = cpu.step();

  CHECK(fused.gradient_summary() == Approx(cpu.gradient_summary()).epsilon(1e-5));
  CHECK(fused.eta() == Approx(eta).epsilon(1e-5));
  const std::vector<float> updated(weights.begin(), weights.end());
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("weight " << k << ": " << Net::describe_weight(k));
    const Eigen::Map<const Eigen::MatrixXf> w(updated.data() + layout.offset(k),
                                              net.weight(k).rows(), net.weight(k).cols());
    CHECK((w - net.weight(k)).cwiseAbs().maxCoeff() <= 1e-5f * net.weight(k).cwiseAbs().maxCoeff());
  }
  const auto norms = fused.slice_norms();
  REQUIRE(norms.size() == layout.slice_count());
  CHECK(norms[0] == Approx(cpu.slice_gradient_norm(0, 0)).epsilon(1e-5));
}

}  // namespace

TEST_CASE("fused AGD step (Thrust host system) matches agd::AGD on a dense network",
          "[cuda][thrust]") {
  check_against_cpu_agd<agd::FCN<64, 32, 3, 4>>(1);
}

TEST_CASE("fused AGD step (Thrust host system) matches agd::AGD on a CNN, slice by slice",
          "[cuda][thrust]") {
  using Cnn = agd::Sequential<agd::Input<2, 8, 8>, agd::Conv2d<2, 8, 3>, agd::Sqrt2Relu,
                              agd::Residual<agd::Conv2d<8, 16, 3, 2>>, agd::GlobalAvgPool,
                              agd::Dense<16, 3>>;
  static_assert(agd::cuda::layout_of<Cnn>().slice_count() == 9 + 9 + 1 + 1);
  check_against_cpu_agd<Cnn>(2);
}

TEST_CASE("fused AGD step (Thrust host system): a NaN gradient changes no weight",
          "[cuda][thrust]") {
  constexpr agd::cuda::weight_layout<2> layout{{2, 3}, {3, 2}, {1, 1}, {1.0, 1.0}};
  agd::cuda::fused_agd_step fused(layout);
  thrust::device_vector<float> weights(12, 1.0f), gradients(12, 0.5f);
  gradients[7] = std::numeric_limits<float>::quiet_NaN();
  fused.step(weights.data(), gradients.data());
  CHECK(std::isnan(fused.eta()));
  for (float w : std::vector<float>(weights.begin(), weights.end())) CHECK(w == 1.0f);
}

TEST_CASE("fused AGD step (Thrust host system): a hand-worked step", "[cuda][thrust]") {
  // One 2x2 weight (scale 1), L = 1, gradient [[3, 0], [0, 4]] (norm 5): G = 5,
  // eta = log((1 + sqrt(21)) / 2) = 1.0262, and W moves by eta * grad / 5.
  constexpr agd::cuda::weight_layout<1> layout{{2}, {2}, {1}, {1.0}};
  agd::cuda::fused_agd_step fused(layout);
  thrust::device_vector<float> weights(4, 0.0f);
  const std::vector<float> g{3, 0, 0, 4};
  const thrust::device_vector<float> gradients(g.begin(), g.end());
  fused.step(weights.data(), gradients.data());
  const double eta = std::log((1 + std::sqrt(21.0)) / 2);
  CHECK(fused.gradient_summary() == Approx(5.0));
  CHECK(fused.eta() == Approx(eta));
  CHECK(float(weights[0]) == Approx(-eta * 3 / 5));
  CHECK(float(weights[3]) == Approx(-eta * 4 / 5));
  CHECK(float(weights[1]) == 0.0f);
}
