// The CUDA backend against the CPU backend: every layer kind, loss and optimiser (see
// cuda_parity.hpp for how these tests run with and without a GPU).
#include "cuda_parity.hpp"

#include <catch2/catch.hpp>

using namespace agd_test;

TEST_CASE("cuda host: every layer kind matches the CPU backend", "[cuda]") {
  SECTION("Dense and the ReLUs") {
    check_parity<
        D<agd::Dense<12, 16>, agd::Relu, agd::Dense<16, 8>, agd::Sqrt2Relu, agd::Dense<8, 4>>>(
        6, 1e-12);
  }
  SECTION("the custom LeakyRelu, written once as an expression") {
    check_parity<D<agd::Dense<12, 16>, my::LeakyRelu<0.1>, agd::Dense<16, 4>>>(6, 1e-12);
  }
  SECTION("Input, Conv2d (padding, stride, 1x1), Flatten") {
    check_parity<D<agd::Input<2, 7, 7>, agd::Conv2d<2, 4, 3>, agd::Relu, agd::Conv2d<4, 5, 3, 2, 0>,
                   agd::Conv2d<5, 3, 1>, agd::Flatten, agd::Dense<27, 4>>>(3, 1e-11);
  }
  SECTION("max, average (overlapping) and global average pooling") {
    check_parity<
        D<agd::Input<2, 8, 8>, agd::Conv2d<2, 3, 3>, agd::MaxPool2d<2>, agd::Conv2d<3, 3, 3>,
          agd::AvgPool2d<3, 1>, agd::MaxPool2d<2, 1>, agd::GlobalAvgPool, agd::Dense<3, 4>>>(3,
                                                                                             1e-11);
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
  using Net =
      D<agd::Dense<10, 12>, agd::Sqrt2Relu, agd::Dense<12, 12>, agd::Sqrt2Relu, agd::Dense<12, 5>>;
  SECTION("AGD, official MSE") {
    check_parity<Net, agd::MSELoss, agd::AGD>(8, 1e-11, 2, 5);
  }
  SECTION("AGD, the paper's square loss") {
    check_parity<Net, agd::SquareLoss, agd::AGD>(8, 1e-11, 3, 5);
  }
  SECTION("AGD, cross-entropy") {
    check_parity<Net, agd::CrossEntropyLoss, agd::AGD>(8, 1e-11, 4, 5);
  }
  SECTION("Adam") {
    check_parity<Net, agd::CrossEntropyLoss, agd::Adam>(8, 1e-10, 5, 5);
  }
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
  using Cnn =
      agd::basic_sequential<double, agd::Input<3, 8, 8>, agd::Conv2d<3, 8, 3>,
                            agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<8, 8, 3>,
                                          agd::BatchNorm, agd::Relu, agd::Conv2d<8, 8, 3>>,
                            agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<8, 16, 3, 2>,
                                          agd::BatchNorm, agd::Relu, agd::Conv2d<16, 16, 3>>,
                            agd::AvgPool2d<4>, agd::Flatten, agd::Dense<16, 10>>;
  check_parity<Cnn, agd::CrossEntropyLoss, agd::AGD>(4, 1e-9, 8, 2);
}
