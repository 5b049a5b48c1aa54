// AGD against a hand-worked two-layer case, its initialisation, and the baselines' updates.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include <Eigen/SVD>

#include <array>
#include <cmath>
#include <vector>

namespace {
using mat = agd::matrix<double>;

// d_0 = 1, d_1 = 4, d_2 = 1: scales sqrt(4/1) = 2 and sqrt(1/4) = 1/2.
using TwoLayer = agd::basic_sequential<double, agd::Dense<1, 4>, agd::Relu, agd::Dense<4, 1>>;
static_assert(TwoLayer::agd_scales[0] == 2.0 && TwoLayer::agd_scales[1] == 0.5);

struct hand_worked {
  TwoLayer net{1};
  mat w1 = mat::Constant(4, 1, 1.0), w2 = mat::Constant(1, 4, -1.0);
  hand_worked() {
    net.weight(0) = w1;
    net.weight(1) = w2;
    // ||grad_1||_F = 1.5 and ||grad_2||_F = 2, so G = (2 * 1.5 + 0.5 * 2) / 2 = 2 and
    // eta = log((1 + sqrt(1 + 8)) / 2) = log 2.
    net.gradient(0) = (mat(4, 1) << 0.9, 1.2, 0.0, 0.0).finished();
    net.gradient(1) = (mat(1, 4) << 1.0, 1.0, 1.0, 1.0).finished();
  }
};
}  // namespace

TEST_CASE("agd: one step matches the hand-worked two-layer case", "[agd]") {
  hand_worked c;
  agd::AGD optimizer(c.net, {});
  const double eta = optimizer.step();
  CHECK(optimizer.gradient_summary() == Approx(2.0).epsilon(1e-15));
  CHECK(eta == Approx(std::log(2.0)).epsilon(1e-15));
  CHECK(optimizer.automatic_learning_rate() == eta);
  // W_1 -= (eta / L) * 2 * grad_1 / 1.5 = log 2 * (0.6, 0.8, 0, 0).
  const mat expected_w1 = c.w1 - std::log(2.0) * (mat(4, 1) << 0.6, 0.8, 0, 0).finished();
  // W_2 -= (eta / L) * 0.5 * grad_2 / 2 = (log 2 / 8) * (1, 1, 1, 1).
  const mat expected_w2 = c.w2 - std::log(2.0) / 8 * mat::Ones(1, 4);
  CHECK((c.net.weight(0) - expected_w1).cwiseAbs().maxCoeff() < 1e-15);
  CHECK((c.net.weight(1) - expected_w2).cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("agd: the gain multiplies the update and nothing else", "[agd]") {
  hand_worked c;
  agd::AGD optimizer(c.net, {.gain = 3.0});
  optimizer.step();
  CHECK(optimizer.automatic_learning_rate() == Approx(std::log(2.0)));
  const mat expected_w2 = c.w2 - 3 * std::log(2.0) / 8 * mat::Ones(1, 4);
  CHECK((c.net.weight(1) - expected_w2).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("agd: a zero gradient leaves its layer unchanged, with no NaN", "[agd]") {
  hand_worked c;
  c.net.gradient(1).setZero();
  agd::AGD optimizer(c.net, {});
  optimizer.step();
  // G = 2 * 1.5 / 2 = 1.5 and eta = log((1 + sqrt(7)) / 2).
  CHECK(optimizer.gradient_summary() == Approx(1.5));
  CHECK(optimizer.automatic_learning_rate() == Approx(std::log((1 + std::sqrt(7.0)) / 2)));
  CHECK(c.net.weight(1) == c.w2);
  CHECK(c.net.weight(0).allFinite());

  c.net.gradient(0).setZero();
  const mat before = c.net.weight(0);
  CHECK(optimizer.step() == 0.0);
  CHECK(c.net.weight(0) == before);
}

TEST_CASE("agd: initial singular values equal sqrt(d_k/d_{k-1})", "[agd][init]") {
  using Net = agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>,
                              agd::Sqrt2Relu, agd::Dense<512, 10>>;
  Net net(1);
  agd::AGD optimizer(net, {.seed = 7});
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("weight " << k << " of shape " << Net::weight_rows[k] << "x" << Net::weight_cols[k]);
    const Eigen::MatrixXd w = net.weight(k).cast<double>();
    Eigen::BDCSVD<Eigen::MatrixXd> svd(w);
    const auto& sigma = svd.singularValues();
    CHECK(sigma.size() == Eigen::Index(std::min(Net::weight_rows[k], Net::weight_cols[k])));
    const double expected = std::sqrt(double(Net::weight_rows[k]) / double(Net::weight_cols[k]));
    CHECK(sigma.maxCoeff() == Approx(expected).epsilon(1e-5));
    CHECK(sigma.minCoeff() == Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("agd: initialisation is seeded and reproducible", "[agd][init]") {
  using Net = agd::Sequential<agd::Dense<20, 30>, agd::Relu, agd::Dense<30, 5>>;
  Net a, b, c;
  agd::AGD oa(a, {.seed = 42}), ob(b, {.seed = 42}), oc(c, {.seed = 43});
  for (std::size_t k = 0; k < Net::depth; ++k) {
    CHECK(a.weight(k) == b.weight(k));
    CHECK(a.weight(k) != c.weight(k));
  }
  // Haar-uniform: over many draws the entries of a 1x1 "orthogonal" matrix are +-1 equally often.
  using Scalar1 = agd::basic_sequential<double, agd::Dense<1, 1>>;
  int positive = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    Scalar1 net;
    agd::init::orthogonal(net, seed);
    CHECK(std::abs(net.weight(0)(0, 0)) == Approx(1.0));
    positive += net.weight(0)(0, 0) > 0;
  }
  CHECK(positive > 70);
  CHECK(positive < 130);
}

TEST_CASE("baselines: Kaiming-uniform initialisation bounds", "[baselines]") {
  using Net = agd::Sequential<agd::Dense<400, 300>, agd::Relu, agd::Dense<300, 10>>;
  Net net;
  agd::SGD optimizer(net, {.lr = 0.1, .seed = 3});
  for (std::size_t k = 0; k < Net::depth; ++k) {
    const double bound = 1.0 / std::sqrt(double(Net::weight_cols[k]));
    CHECK(net.weight(k).cwiseAbs().maxCoeff() <= bound);
    CHECK(net.weight(k).cwiseAbs().maxCoeff() > 0.99 * bound);
    // Uniform on [-b, b] has variance b^2 / 3.
    const double variance = double(net.weight(k).squaredNorm()) / double(net.weight(k).size());
    CHECK(variance == Approx(bound * bound / 3).epsilon(0.05));
  }
}

TEST_CASE("baselines: SGD with momentum follows torch.optim.SGD", "[baselines]") {
  hand_worked c;
  agd::SGD optimizer(c.net, {.lr = 0.5, .momentum = 0.9});
  const mat g1 = c.net.gradient(0);
  optimizer.step();  // buffer = g; W -= lr g
  CHECK((c.net.weight(0) - (c.w1 - 0.5 * g1)).cwiseAbs().maxCoeff() < 1e-15);
  optimizer.step();  // buffer = 0.9 g + g; W -= lr * 1.9 g
  CHECK((c.net.weight(0) - (c.w1 - 0.5 * g1 - 0.5 * 1.9 * g1)).cwiseAbs().maxCoeff() < 1e-14);
  CHECK(optimizer.state_bytes() == TwoLayer::parameter_count * sizeof(double));
}

TEST_CASE("baselines: Adam's first steps follow torch.optim.Adam", "[baselines]") {
  hand_worked c;
  agd::Adam optimizer(c.net, {.lr = 0.01});
  optimizer.step();
  // Step 1: m_hat = g and v_hat = g^2, so the update is lr * g / (|g| + eps) ~ lr * sign(g).
  const mat& g = c.net.gradient(1);
  const mat expected = c.w2.array() - 0.01 * g.array() / (g.array().abs() + 1e-8);
  CHECK((c.net.weight(1) - expected).cwiseAbs().maxCoeff() < 1e-12);
  // A zero gradient entry does not move its weight.
  CHECK(c.net.weight(0)(2, 0) == c.w1(2, 0));
  // Step 2 with the same gradient: m = 0.19 g, v = 0.001999 g^2, bias corrections 0.19 and
  // 0.001999, so the update is again lr * g / (|g| + eps).
  const mat w2_after_one = c.net.weight(1);
  optimizer.step();
  const mat expected2 = w2_after_one.array() - 0.01 * g.array() / (g.array().abs() + 1e-8);
  CHECK((c.net.weight(1) - expected2).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(agd::Adam<TwoLayer>::state_bytes() == 2 * 8 * sizeof(double));
  CHECK(agd::AGD<TwoLayer>::state_bytes() == 0);
}

TEST_CASE("baselines: bad hyperparameters are rejected", "[baselines]") {
  TwoLayer net;
  CHECK_THROWS_WITH(agd::SGD(net, {.lr = -1}),
                    Catch::Contains("learning rate must be a finite number > 0"));
  CHECK_THROWS_WITH(agd::SGD(net, {.lr = 0.1, .momentum = 1.5}), Catch::Contains("momentum"));
  CHECK_THROWS_WITH(agd::Adam(net, {.lr = 0}),
                    Catch::Contains("learning rate must be a finite number > 0"));
}

TEST_CASE("agd: a NaN gradient stops the step before any weight changes", "[agd][errors]") {
  hand_worked c;
  c.net.gradient(1)(0, 2) = std::numeric_limits<double>::quiet_NaN();
  agd::AGD optimizer(c.net, {});
  CHECK_THROWS_AS(optimizer.step(), agd::non_finite_error);
  CHECK_THROWS_WITH(optimizer.step(), Catch::Contains("the gradient of layer 3 (Dense<4,1>)") &&
                                          Catch::Contains("no weight was changed"));
  CHECK(c.net.weight(0) == c.w1);
  CHECK(c.net.weight(1) == c.w2);
}

TEST_CASE("baselines: an infinite gradient stops SGD and Adam before any weight changes",
          "[baselines][errors]") {
  hand_worked c;
  c.net.gradient(0)(1, 0) = std::numeric_limits<double>::infinity();
  agd::SGD sgd(c.net, {.lr = 0.1});
  CHECK_THROWS_WITH(sgd.step(), Catch::Contains("agd::SGD::step: the gradient of layer 1 "
                                                "(Dense<1,4>) contains NaN or Inf"));
  agd::Adam adam(c.net, {});
  CHECK_THROWS_AS(adam.step(), agd::non_finite_error);
  CHECK(c.net.weight(0) == c.w1);
  CHECK(c.net.weight(1) == c.w2);
}

namespace {

/// A gradient that changes from step to step, sign and size, element by element (one entry
/// stays zero at every step): any beta, any bias correction shows in the weights.
mat changing_gradient(Eigen::Index rows, Eigen::Index cols, int step, double phase) {
  mat g(rows, cols);
  for (Eigen::Index i = 0; i < g.size(); ++i)
    g.data()[i] = (1.0 + 0.5 * double(step)) * std::sin(1.3 * double(i) + 0.9 * step + phase);
  g.data()[0] = 0.0;
  return g;
}

/// Adam as Kingma and Ba write it (Algorithm 1), kept apart from the library's fused update:
/// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, m_hat = m / (1 - b1^t),
/// v_hat = v / (1 - b2^t), w -= lr m_hat / (sqrt(v_hat) + eps).
struct textbook_adam {
  double lr, beta1, beta2, eps;
  mat m, v;
  int t = 0;
  void step(mat& w, const mat& g) {
    if (t == 0) m = v = mat::Zero(w.rows(), w.cols());
    ++t;
    for (Eigen::Index i = 0; i < w.size(); ++i) {
      m.data()[i] = beta1 * m.data()[i] + (1 - beta1) * g.data()[i];
      v.data()[i] = beta2 * v.data()[i] + (1 - beta2) * g.data()[i] * g.data()[i];
      const double m_hat = m.data()[i] / (1 - std::pow(beta1, t));
      const double v_hat = v.data()[i] / (1 - std::pow(beta2, t));
      w.data()[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

void check_adam_against_textbook(const agd::adam_options& options) {
  hand_worked c;
  agd::Adam optimizer(c.net, options);
  std::array<mat, 2> w{c.w1, c.w2};
  std::array<textbook_adam, 2> reference;
  for (auto& r : reference) r = {options.lr, options.beta1, options.beta2, options.eps, {}, {}};
  for (int step = 1; step <= 6; ++step) {
    INFO("step " << step);
    for (std::size_t k = 0; k < 2; ++k) {
      const mat g = changing_gradient(w[k].rows(), w[k].cols(), step, double(k));
      c.net.gradient(k) = g;
      reference[k].step(w[k], g);
    }
    CHECK(optimizer.step() == options.lr);
    for (std::size_t k = 0; k < 2; ++k) {
      INFO("weight " << k);
      const mat moved = w[k] - (k == 0 ? c.w1 : c.w2);
      // Relative to how far the weights moved: the two ways of writing the update differ only in
      // rounding.
      CHECK((c.net.weight(k) - w[k]).cwiseAbs().maxCoeff() <= 1e-12 * moved.cwiseAbs().maxCoeff());
      CHECK((optimizer.first_moment(k) - reference[k].m).cwiseAbs().maxCoeff() < 1e-14);
      CHECK((optimizer.second_moment(k) - reference[k].v).cwiseAbs().maxCoeff() < 1e-14);
      // The entry whose gradient is always zero never moves.
      CHECK(c.net.weight(k)(0, 0) == (k == 0 ? c.w1 : c.w2)(0, 0));
    }
  }
  CHECK(optimizer.steps() == 6);
}

// d_0 = 2, d_1 = 3, d_2 = 2: scales sqrt(3/2) and sqrt(2/3).
using Rank2 = agd::basic_sequential<double, agd::Dense<2, 3>, agd::Relu, agd::Dense<3, 2>>;

}  // namespace

TEST_CASE("baselines: Adam follows the textbook Adam over 6 steps of changing gradients",
          "[baselines][adam]") {
  SECTION("torch's defaults") {
    check_adam_against_textbook({.lr = 0.01});
  }
  SECTION("other betas and eps") {
    check_adam_against_textbook({.lr = 0.05, .beta1 = 0.7, .beta2 = 0.9, .eps = 1e-3});
  }
}

TEST_CASE("agd: one step matches a hand-worked case with rank-2 gradients", "[agd]") {
  Rank2 net(1);
  const mat w1 = (mat(3, 2) << 0.5, -1.0, 0.25, 2.0, -0.75, 1.5).finished();
  const mat w2 = (mat(2, 3) << 1.0, 0.0, -0.5, 0.3, -1.2, 0.8).finished();
  net.weight(0) = w1;
  net.weight(1) = w2;
  // Both gradients have rank 2, so their Frobenius norms (3 and 3) differ from their operator
  // norms (2.92 and sqrt(5)): an update that used the wrong norm would show here, where a rank-1
  // case cannot tell them apart.
  const mat g1 = (mat(3, 2) << 1, 2, 0, 2, 0, 0).finished();  // ||g1||_F^2 = 1 + 4 + 4 = 9
  const mat g2 = (mat(2, 3) << 2, 0, 1, 0, 2, 0).finished();  // ||g2||_F^2 = 4 + 1 + 4 = 9
  net.gradient(0) = g1;
  net.gradient(1) = g2;
  const double gain = 0.5;
  agd::AGD optimizer(net, {.gain = gain});
  const double eta = optimizer.step();

  // The paper's formulas, computed here from the entries (L = 2):
  // G = (1/L) sum_k sqrt(d_k/d_{k-1}) ||grad_k||_F, eta = log((1 + sqrt(1 + 4G)) / 2),
  // W_k -= gain * (eta/L) * sqrt(d_k/d_{k-1}) * grad_k / ||grad_k||_F.
  const auto frobenius = [](const mat& m) {
    double sum = 0;
    for (Eigen::Index i = 0; i < m.size(); ++i) sum += m.data()[i] * m.data()[i];
    return std::sqrt(sum);
  };
  const double scale1 = std::sqrt(3.0 / 2.0), scale2 = std::sqrt(2.0 / 3.0);
  const double G = (scale1 * frobenius(g1) + scale2 * frobenius(g2)) / 2;
  // By hand: G = (3 sqrt(3/2) + 3 sqrt(2/3)) / 2 = 1.5 * 5 / sqrt(6) = 1.25 sqrt(6).
  CHECK(G == Approx(1.25 * std::sqrt(6.0)).epsilon(1e-15));
  const double expected_eta = std::log((1 + std::sqrt(1 + 4 * G)) / 2);
  CHECK(expected_eta == Approx(0.8415034943555162).epsilon(1e-14));
  CHECK(optimizer.gradient_summary() == Approx(G).epsilon(1e-14));
  CHECK(eta == Approx(expected_eta).epsilon(1e-14));
  CHECK(optimizer.gradient_norms()[0] == Approx(3.0).epsilon(1e-15));
  CHECK(optimizer.gradient_norms()[1] == Approx(3.0).epsilon(1e-15));
  const mat expected_w1 = w1 - gain * (expected_eta / 2) * scale1 * g1 / frobenius(g1);
  const mat expected_w2 = w2 - gain * (expected_eta / 2) * scale2 * g2 / frobenius(g2);
  CHECK((net.weight(0) - expected_w1).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((net.weight(1) - expected_w2).cwiseAbs().maxCoeff() < 1e-14);
  // Each weight moved by gain * (eta/L) * its scale in Frobenius norm, whatever the gradient's
  // size: the update's size is set by the architecture, not by the gradient.
  CHECK(frobenius(w1 - net.weight(0)) == Approx(gain * expected_eta / 2 * scale1).epsilon(1e-13));
  CHECK(frobenius(w2 - net.weight(1)) == Approx(gain * expected_eta / 2 * scale2).epsilon(1e-13));
}
