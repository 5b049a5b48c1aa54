// Compiled by nvcc in CI (compile only; no GPU there): the CUDA backend's network for the
// Fashion-MNIST FCN and the paper's 32-layer FCN, forward, loss, backward and the fused step.
#include <agd/backend/cuda/sequential.hpp>
#include <agd/layers/dense.hpp>
#include <agd/layers/relu.hpp>
#include <agd/network/fcn.hpp>

using FashionNet =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
using DeepNet = agd::FCN<784, 256, 10, 32>;

template <class Net>
double one_step(const float* inputs, std::span<const std::int32_t> labels) {
  typename Net::template on<agd::cuda::device> net(labels.size(), {.tf32 = true});
  agd::cuda::fused_agd_step step(decltype(net)::layout);
  net.load_batch(inputs, labels);
  agd::cuda::train_step(net, step);
  return net.loss() + step.eta() + double(net.count_correct());
}

double agd_cuda_sequential_compile_check(const float* inputs,
                                         std::span<const std::int32_t> labels) {
  return one_step<FashionNet>(inputs, labels) + one_step<DeepNet>(inputs, labels);
}
