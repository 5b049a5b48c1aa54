// The CUDA backend against the CPU backend: one AGD step of the paper's ResNet-18 (see
// cuda_parity.hpp).
#include "cuda_parity.hpp"

#include <catch2/catch.hpp>

using namespace agd_test;
#include "cnn_models.hpp"

TEST_CASE("cuda host: one AGD step of ResNet-18 matches the CPU backend", "[cuda][resnet]") {
  check_parity<examples::ResNet18, agd::MSELoss, agd::AGD>(2, 1e-4, 9, 1);
}
