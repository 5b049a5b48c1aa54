// Compiled by nvcc in CI (compile only: the CI machines have no GPU) for sm_90 and portable PTX,
// so that the device path of the fused AGD step keeps building. The layouts are those of the
// paper's networks, written out so that this translation unit needs no Eigen.
#include <agd/backend/cuda/fused_agd_step.hpp>

namespace {
// Depth 4, width 512 on Fashion-MNIST: Dense<784,512>, 2 x Dense<512,512>, Dense<512,10>.
constexpr agd::cuda::weight_layout<4> fcn{{512, 512, 512, 10},
                                          {784, 512, 512, 512},
                                          {1, 1, 1, 1},
                                          {0.8081220356, 1.0, 1.0, 0.1397542486}};
// A 3x3 convolution 64 -> 128 (nine slices, scale sqrt(128/64)/3) and a dense head.
constexpr agd::cuda::weight_layout<2> cnn{
    {128, 10}, {576, 128}, {9, 1}, {0.4714045208, 0.2795084972}};
}  // namespace

// Host entry points that instantiate every device function.
void agd_cuda_compile_check(float* weights, const float* gradients) {
  agd::cuda::fused_agd_step fcn_step(fcn);
  fcn_step.step(thrust::device_pointer_cast(weights), thrust::device_pointer_cast(gradients));
  agd::cuda::fused_agd_step cnn_step(cnn);
  cnn_step.step(thrust::device_pointer_cast(weights), thrust::device_pointer_cast(gradients));
}
