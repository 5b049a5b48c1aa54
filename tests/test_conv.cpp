// Convolutional networks: Conv2d, pooling, Flatten, Input and Residual. Forward values against a
// direct convolution, finite-difference gradient checks in double for every new layer and for
// small CNNs with identity and projection skips, AGD's per-slice rule of Appendix B on a
// hand-worked case, the per-slice initialisation, and the compile-time facts of the CIFAR models.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "cnn_models.hpp"
#include "finite_differences.hpp"
#include "scratch_dir.hpp"

namespace {

using agd_test::mat;
using agd_test::numeric_gradient;
using agd_test::random_matrix;
using agd_test::relative_error;

/// The textbook definition, loop by loop, with W laid out as layers/conv2d.hpp says.
template <std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t S, std::size_t P>
mat direct_convolution(const mat& w, const mat& x, std::size_t height, std::size_t width) {
  const std::size_t oh = (height + 2 * P - K) / S + 1, ow = (width + 2 * P - K) / S + 1;
  mat y = mat::Zero(Eigen::Index(Cout * oh * ow), x.cols());
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    for (std::size_t o = 0; o < Cout; ++o)
      for (std::size_t oy = 0; oy < oh; ++oy)
        for (std::size_t ox = 0; ox < ow; ++ox) {
          double sum = 0;
          for (std::size_t c = 0; c < Cin; ++c)
            for (std::size_t ky = 0; ky < K; ++ky)
              for (std::size_t kx = 0; kx < K; ++kx) {
                const long iy = long(oy * S + ky) - long(P), ix = long(ox * S + kx) - long(P);
                if (iy < 0 || ix < 0 || iy >= long(height) || ix >= long(width)) continue;
                sum += w(Eigen::Index(o), Eigen::Index((ky * K + kx) * Cin + c)) *
                       x(Eigen::Index((c * height + std::size_t(iy)) * width + std::size_t(ix)), j);
              }
          y(Eigen::Index((o * oh + oy) * ow + ox), j) = sum;
        }
  return y;
}

template <std::size_t Cin, std::size_t Cout, std::size_t K, std::size_t S, std::size_t P,
          std::size_t H, std::size_t W, Eigen::Index n = 5>
void check_convolution() {
  using conv =
      typename agd::Conv2d<Cin, Cout, K, S, P>::template bind<agd::tensor_shape{Cin, H, W}>;
  using layer = agd::Conv2d<Cin, Cout, K, S, P>;
  INFO(layer::name() << " on " << Cin << "x" << H << "x" << W << ", " << n << " samples");
  mat w = random_matrix(Cout, K * K * Cin, 1);
  mat x = random_matrix(Cin * H * W, n, 2);
  const mat r = random_matrix(Eigen::Index(conv::output_size(0)), n, 3);  // f = sum(r .* y)
  mat y(conv::output_size(0), n);
  agd::eigen::layer_forward<conv, double>(w, x, y);
  CHECK(relative_error(y, direct_convolution<Cin, Cout, K, S, P>(w, x, H, W)) < 1e-12);

  auto f = [&] {
    mat out(conv::output_size(0), n);
    agd::eigen::layer_forward<conv, double>(w, x, out);
    return out.cwiseProduct(r).sum();
  };
  mat dw(Cout, K * K * Cin), dx(Cin * H * W, n);
  agd::eigen::layer_backward_weights<conv, double>(x, r, dw);
  agd::eigen::layer_backward_inputs<conv, double>(w, r, dx);
  CHECK(relative_error(dw, numeric_gradient(w, f)) < 1e-7);
  CHECK(relative_error(dx, numeric_gradient(x, f)) < 1e-7);

  // A block of output channels (how the network splits dW between threads) gives those rows.
  if constexpr (Cout > 1) {
    constexpr Eigen::Index per_row = Eigen::Index(conv::output_rows_per_weight_row);
    mat block(1, K * K * Cin);
    agd::eigen::layer_backward_weights<conv, double>(x, r.middleRows(per_row, per_row), block);
    CHECK(relative_error(block, dw.row(1)) < 1e-12);
  }
}

template <class Bound>
void check_activation_layer(Eigen::Index in_rows) {
  constexpr Eigen::Index n = 2;
  mat x = random_matrix(in_rows, n, 5);
  const Eigen::Index out_rows = Eigen::Index(Bound::output_size(std::size_t(in_rows)));
  const mat r = random_matrix(out_rows, n, 6);
  mat y(out_rows, n), dx(in_rows, n);
  agd::eigen::layer_forward<Bound, double>(x, y);
  agd::eigen::layer_backward<Bound, double>(x, y, r, dx);
  const mat numeric = numeric_gradient(x, [&] {
    mat out(out_rows, n);
    agd::eigen::layer_forward<Bound, double>(x, out);
    return out.cwiseProduct(r).sum();
  });
  CHECK(relative_error(dx, numeric) < 1e-7);
}

/// Every weight gradient of a whole network against finite differences of f = sum(r .* net(x)).
template <class Net>
void check_network_gradients(std::uint64_t seed) {
  constexpr Eigen::Index n = 2;
  Net net(n);
  agd::AGD optimizer(net, {.seed = seed});  // per-slice orthogonal init
  const mat x = random_matrix(Net::input_size, n, seed + 1);
  const mat r = random_matrix(Net::output_size, n, seed + 2);
  net.forward(x);
  net.output_gradient() = r;
  net.backward();
  for (std::size_t k = 0; k < Net::depth; ++k) {
    INFO("weight " << k << ": " << Net::describe_weight(k));
    const mat analytic = net.gradient(k);
    const mat numeric =
        numeric_gradient(net.weight(k), [&] { return net.forward(x).cwiseProduct(r).sum(); });
    CHECK(relative_error(analytic, numeric) < 1e-6);
  }
}

}  // namespace

TEST_CASE("conv: Conv2d matches a direct convolution and its gradients", "[conv][gradients]") {
  check_convolution<2, 3, 3, 1, 1, 5, 6>();  // same padding
  check_convolution<2, 3, 3, 2, 1, 7, 5>();  // stride 2
  check_convolution<3, 2, 3, 1, 0, 5, 5>();  // no padding
  check_convolution<3, 4, 1, 2, 0, 6, 6>();  // the 1x1 strided projection of a residual block
  check_convolution<1, 2, 5, 1, 2, 4, 4>();  // a kernel larger than the image, padded
  // The CPU kernel runs an image of 128 positions or more as a GEMM of its own, in place in the
  // network's buffers, and stacks smaller ones up to about 1024 rows: 120 positions take 9
  // samples at a time, then the last 2.
  check_convolution<2, 3, 3, 2, 1, 31, 31>();
  check_convolution<1, 2, 3, 1, 1, 32, 32>();
  check_convolution<1, 3, 3, 1, 1, 12, 10, 11>();
}

TEST_CASE("conv: pooling, Flatten and Input gradients", "[conv][gradients]") {
  check_activation_layer<agd::MaxPool2d<2>::bind<agd::tensor_shape{3, 4, 6}>>(3 * 4 * 6);
  check_activation_layer<agd::MaxPool2d<3, 1>::bind<agd::tensor_shape{2, 5, 5}>>(2 * 5 * 5);
  check_activation_layer<agd::AvgPool2d<2>::bind<agd::tensor_shape{3, 4, 6}>>(3 * 4 * 6);
  check_activation_layer<agd::AvgPool2d<3, 2>::bind<agd::tensor_shape{2, 7, 5}>>(2 * 7 * 5);
  check_activation_layer<agd::GlobalAvgPool::bind<agd::tensor_shape{4, 3, 5}>>(4 * 3 * 5);
  check_activation_layer<agd::Flatten>(12);
  check_activation_layer<agd::Input<2, 2, 3>>(12);
  check_activation_layer<agd::BatchNorm::bind<agd::tensor_shape{3, 2, 2}>>(3 * 2 * 2);
  check_activation_layer<agd::BatchNorm::bind<agd::flat_shape(5)>>(5);
}

TEST_CASE("conv: pooling values", "[conv]") {
  using pool = agd::MaxPool2d<2>::bind<agd::tensor_shape{1, 2, 4}>;
  using average = agd::AvgPool2d<2>::bind<agd::tensor_shape{1, 2, 4}>;
  mat x(8, 1);
  x << 1, -2, 5, 6,  //
      3, 0, -1, 7;
  mat y(2, 1);
  agd::eigen::layer_forward<pool, double>(x, y);
  CHECK(y(0, 0) == 3);
  CHECK(y(1, 0) == 7);
  agd::eigen::layer_forward<average, double>(x, y);
  CHECK(y(0, 0) == Approx(0.5));
  CHECK(y(1, 0) == Approx(4.25));
}

TEST_CASE("conv: whole CNNs with identity and projection skips pass gradient checks",
          "[conv][gradients]") {
  using Plain = agd::basic_sequential<double, agd::Input<2, 6, 6>, agd::Conv2d<2, 3, 3>, agd::Relu,
                                      agd::MaxPool2d<2>, agd::Conv2d<3, 4, 3, 1, 0>, agd::Flatten,
                                      agd::Dense<4, 3>>;
  static_assert(Plain::depth == 3 && Plain::output_size == 3);
  check_network_gradients<Plain>(10);

  using WithSkips = agd::basic_sequential<
      double, agd::Input<2, 6, 6>, agd::Conv2d<2, 3, 3>,
      agd::Residual<agd::Relu, agd::Conv2d<3, 3, 3>, agd::Relu, agd::Conv2d<3, 3, 3>>,
      agd::Residual<agd::Relu, agd::Conv2d<3, 4, 3, 2>, agd::Relu, agd::Conv2d<4, 4, 3>>, agd::Relu,
      agd::AvgPool2d<3>, agd::Flatten, agd::Dense<4, 2>>;
  // Weights: the stem, two in each block, the second block's projection and the head.
  static_assert(WithSkips::depth == 7);
  static_assert(WithSkips::weight_rows[5] == 4 && WithSkips::weight_cols[5] == 3);
  check_network_gradients<WithSkips>(20);

  // Batch norm couples the samples: the network runs it on blocks of channels.
  using Normalised =
      agd::basic_sequential<double, agd::Input<2, 5, 5>, agd::Conv2d<2, 4, 3>,
                            agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<4, 4, 3>,
                                          agd::BatchNorm, agd::Relu, agd::Conv2d<4, 6, 3, 2>>,
                            agd::BatchNorm, agd::GlobalAvgPool, agd::Dense<6, 3>>;
  static_assert(Normalised::depth == 5);
  check_network_gradients<Normalised>(40);

  // A nested block, and a residual block written as Residual<Sequential<...>>.
  using Nested = agd::basic_sequential<
      double, agd::Input<2, 4, 4>,
      agd::Residual<agd::Conv2d<2, 2, 3>,
                    agd::Residual<agd::basic_sequential<double, agd::Relu, agd::Conv2d<2, 2, 3>>>>,
      agd::GlobalAvgPool, agd::Dense<2, 2>>;
  static_assert(Nested::depth == 3);
  check_network_gradients<Nested>(30);
}

TEST_CASE("conv: AGD normalises each kernel slice on its own (Appendix B, hand-worked)",
          "[conv][agd]") {
  // L = 2: a 2x2 convolution 1 -> 2 channels on a 2x2 image (W: 2 x 4, four slices of 2 x 1,
  // scale sqrt(2/1)/sqrt(2*2) = 0.70711), then Dense<2, 2> (scale 1).
  using Net = agd::Sequential<agd::Input<1, 2, 2>, agd::Conv2d<1, 2, 2, 1, 0>, agd::Flatten,
                              agd::Dense<2, 2>>;
  static_assert(Net::depth == 2 && Net::weight_slices[0] == 4 && Net::weight_slices[1] == 1);
  CHECK(Net::agd_scales[0] == Approx(std::sqrt(2.0) / 2));
  Net net(1);
  agd::AGD optimizer(net);
  net.weight(0).setZero();
  net.weight(1).setZero();
  // Slice gradients (columns of W): [3,4] (norm 5), [0,0] (norm 0), [1,0] (1), [0,2] (2).
  net.gradient(0) << 3, 0, 1, 0,  //
      4, 0, 0, 2;
  net.gradient(1) << 1, 1,  //
      1, 1;                 // norm 2
  // G = (0.70711 * (5 + 0 + 1 + 2) + 1 * 2) / 2 = 3.8284271; eta = log((1 + sqrt(1+4G))/2).
  const double eta = optimizer.step();
  CHECK(optimizer.gradient_summary() == Approx(3.8284271247461903).epsilon(1e-6));
  CHECK(eta == Approx(0.9240650753986979).epsilon(1e-6));
  CHECK(optimizer.slice_gradient_norm(0, 0) == Approx(5));
  CHECK(optimizer.slice_gradient_norm(0, 3) == Approx(2));
  // Each slice moves by (eta/L) * scale along its own unit direction; the zero slice stays.
  // (eta/2) * 0.70711 = 0.32670634.
  mat expected_conv(2, 4);
  expected_conv << -0.19602380432162328, 0, -0.3267063405360388, 0,  //
      -0.26136507242883106, 0, 0, -0.3267063405360388;
  CHECK(relative_error(net.weight(0).cast<double>(), expected_conv) < 1e-6);
  // The dense layer: (eta/2) * 1 * grad / 2 = 0.23101627 in every entry.
  CHECK((net.weight(1).cast<double>().array() + 0.23101626884967447).abs().maxCoeff() < 1e-6);
}

TEST_CASE("conv: AGD's initialisation makes every kernel slice semi-orthogonal, scaled",
          "[conv][init]") {
  using Net = agd::Sequential<agd::Input<3, 8, 8>, agd::Conv2d<3, 8, 3>, agd::Relu,
                              agd::Conv2d<8, 4, 3>, agd::GlobalAvgPool, agd::Dense<4, 2>>;
  Net net(1);
  agd::AGD optimizer(net, {.seed = 7});
  for (std::size_t k = 0; k < 2; ++k) {
    const auto cin = Eigen::Index(Net::weight_cols[k] / 9),
               cout = Eigen::Index(Net::weight_rows[k]);
    const double scale = std::sqrt(double(cout) / double(cin)) / 3.0;
    CHECK(Net::agd_scales[k] == Approx(scale));
    for (Eigen::Index s = 0; s < 9; ++s) {
      const Eigen::MatrixXd slice = net.weight(k).middleCols(s * cin, cin).cast<double>();
      Eigen::JacobiSVD<Eigen::MatrixXd> svd(slice);
      INFO("weight " << k << " slice " << s);
      CHECK(svd.singularValues().minCoeff() == Approx(scale).epsilon(1e-5));
      CHECK(svd.singularValues().maxCoeff() == Approx(scale).epsilon(1e-5));
    }
  }
}

TEST_CASE("conv: the CIFAR model types have the paper's architecture facts", "[conv]") {
  // PyTorch's pre-activation ResNet-18 (kuangliu/pytorch-cifar) without biases or affine
  // parameters: 11,164,352 weights in 21 tensors (conv stem, 16 block convs, 3 projections,
  // the linear head).
  static_assert(examples::ResNet18::parameter_count == 11164352);
  static_assert(examples::ResNet18::depth == 21);
  static_assert(examples::ResNet18::input_size == 3 * 32 * 32 &&
                examples::ResNet18::output_size == 10);
  // VGG-16 as kuangliu/pytorch-cifar writes it: 13 convolutions and one linear head.
  static_assert(examples::VGG16::depth == 14);
  static_assert(examples::VGG16::parameter_count == 14715584);  // torch, same net
  static_assert(examples::VGG16::input_size == 3 * 32 * 32 && examples::VGG16::output_size == 10);
  CHECK(examples::ResNet18::summary().find("}+Conv2d<64,128,1,2,0>") != std::string::npos);
}

TEST_CASE("conv: BatchNorm normalises each channel over the batch", "[conv]") {
  using norm = agd::BatchNorm::bind<agd::tensor_shape{2, 2, 2}>;
  mat x = random_matrix(8, 3, 9);
  x.topRows(4).array() += 5.0;  // channel 0 offset and
  x.bottomRows(4) *= 3.0;       // channel 1 scaled: both normalised away
  mat y(8, 3);
  agd::eigen::layer_forward<norm, double>(x, y);
  for (Eigen::Index c = 0; c < 2; ++c) {
    const auto channel = y.middleRows(4 * c, 4);
    CHECK(std::abs(channel.mean()) < 1e-12);
    CHECK((channel.array().square().mean()) == Approx(1.0).epsilon(1e-4));  // eps = 1e-5
  }
}

TEST_CASE("conv: a network given a batch of the wrong image size says so", "[conv]") {
  using Net = agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 4, 3>, agd::GlobalAvgPool,
                              agd::Dense<4, 10>>;
  Net net(4);
  const Eigen::MatrixXf wrong = Eigen::MatrixXf::Zero(32 * 32, 2);
  CHECK_THROWS_WITH(net.forward(wrong), Catch::Contains("1024 rows but the network expects 784"));
}

TEST_CASE("conv: a CNN's checkpoint restores it, and another CNN refuses it",
          "[conv][checkpoint]") {
  using Net =
      agd::Sequential<agd::Input<1, 8, 8>, agd::Conv2d<1, 4, 3>, agd::BatchNorm, agd::Relu,
                      agd::Residual<agd::Conv2d<4, 8, 3, 2>>, agd::GlobalAvgPool, agd::Dense<8, 3>>;
  using Other =
      agd::Sequential<agd::Input<1, 8, 8>, agd::Conv2d<1, 4, 5>, agd::BatchNorm, agd::Relu,
                      agd::Residual<agd::Conv2d<4, 8, 3, 2>>, agd::GlobalAvgPool, agd::Dense<8, 3>>;
  agd_test::scratch_dir dir("conv_checkpoint");
  const auto file = dir.path / "cnn.safetensors";
  Net saved(2);
  agd::AGD saved_optimizer(saved, {.seed = 3});
  agd::io::save_checkpoint(file, saved, saved_optimizer, {.step = 5, .epoch = 1});
  Net loaded(2);
  agd::AGD loaded_optimizer(loaded, {.seed = 4});
  agd::io::load_checkpoint(file, loaded, loaded_optimizer);
  for (std::size_t k = 0; k < Net::depth; ++k) CHECK(loaded.weight(k) == saved.weight(k));
  Other other(2);
  agd::AGD other_optimizer(other, {.seed = 5});
  CHECK_THROWS_WITH(agd::io::load_checkpoint(file, other, other_optimizer),
                    Catch::Contains("Conv2d<1,4,3>") && Catch::Contains("Conv2d<1,4,5>"));
}

TEST_CASE("conv: backward_by_layer gives backward()'s gradients bit for bit, on 2 threads",
          "[conv]") {
  // The layer-by-layer pass (distributed/data_parallel.hpp overlaps the gradient sums with it)
  // must also add up the convolutions' per-thread partial weight gradients before announcing
  // a weight, or its sums would start on a part of the gradient.
  using Net = agd::Sequential<
      agd::Input<2, 6, 6>, agd::Conv2d<2, 3, 3>,
      agd::Residual<agd::Relu, agd::Conv2d<3, 4, 3, 2>, agd::Relu, agd::Conv2d<4, 4, 3>>, agd::Relu,
      agd::MaxPool2d<3>, agd::Flatten, agd::Dense<4, 3>>;
  const int threads_before = int(agd::threads());
  agd::set_threads(2);
  constexpr int n = 24;
  Net net(n, 7);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  Eigen::MatrixXf x(Net::input_size, n);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  std::vector<std::int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[std::size_t(i)] = i % 3;

  const auto gradients_of = [&](bool by_layer, std::vector<std::size_t>* announced) {
    net.load_batch(x, labels);
    net.forward_batch(n);
    agd::batch_loss<agd::MSELoss>(net, net.label_buffer());
    if (by_layer)
      net.backward_by_layer([&](std::size_t k) { announced->push_back(k); });
    else
      net.backward();
    return std::vector<float>(net.gradient_data(), net.gradient_data() + Net::parameter_count);
  };
  std::vector<std::size_t> announced;
  const std::vector<float> whole = gradients_of(false, nullptr);
  const std::vector<float> by_layer = gradients_of(true, &announced);
  agd::set_threads(threads_before);
  CHECK(by_layer == whole);
  CHECK(announced == std::vector<std::size_t>{4, 3, 2, 1, 0});
  float largest = 0;
  for (float g : whole) largest = std::max(largest, std::abs(g));
  CHECK(largest > 1e-3f);  // a real gradient, not two zero buffers
}
