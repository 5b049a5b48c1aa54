// Compiled by nvcc for sm_90 (and its PTX) in CI, where there is no GPU: every layer, loss and
// optimiser of the CUDA backend, train::fit, evaluate, predict and checkpoints instantiated for
// device code, on the paper's FCN and a CNN with batch norm, pooling and residual blocks
// (ResNet-18's pieces), and the CNN in bf16 mixed precision (Net::with_precision<agd::bf16>:
// cublasGemmEx on bf16 copies rounded by a kernel, the compute capability checked at
// construction).
// The same code runs in test_cuda_backend_host on Thrust's host system.
#include <agd/cuda.hpp>
#include <agd/train/fit.hpp>

namespace {

using FashionNet = agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>,
                                   agd::Sqrt2Relu, agd::Dense<512, 10>>;
using SmallCnn =
    agd::Sequential<agd::Input<3, 8, 8>, agd::Conv2d<3, 8, 3>, agd::BatchNorm, agd::Relu,
                    agd::Residual<agd::Conv2d<8, 8, 3>, agd::BatchNorm, agd::Relu>,
                    agd::Residual<agd::Conv2d<8, 16, 3, 2, 1>, agd::BatchNorm, agd::Relu>,
                    agd::MaxPool2d<2>, agd::AvgPool2d<1>, agd::GlobalAvgPool, agd::Flatten,
                    agd::Dense<16, 10>>;

template <class Net, class Optimizer, class Loss>
double train(const agd::data::dataset& data) {
  typename Net::template on<agd::cuda::device> net(32, 1);
  Optimizer optimizer(net);
  agd::train::fit_options options;
  options.epochs = 1;
  options.capture_graph = true;
  const auto history = agd::train::fit(net, optimizer, Loss{}, data, data, options);
  agd::io::save_checkpoint("/tmp/agd_cuda_compile_check.safetensors", net, optimizer);
  agd::io::load_checkpoint("/tmp/agd_cuda_compile_check.safetensors", net, optimizer);
  agd::io::save_weights("/tmp/agd_cuda_compile_check_weights.safetensors", net);
  const auto evaluation = agd::evaluate(net, Loss{}, data);
  const auto classes = agd::predict(net, data);
  const auto probabilities = agd::predict_probabilities(net, data);
  return history.back().test_accuracy + evaluation.loss + double(classes.front()) +
         double(probabilities(0, 0)) + agd::read(optimizer.step());
}

}  // namespace

// A host entry point that instantiates every device function.
double agd_cuda_compile_check(const agd::data::dataset& fashion, const agd::data::dataset& cifar) {
  using FashionGpu = FashionNet::on<agd::cuda::device>;
  using CnnGpu = SmallCnn::on<agd::cuda::device>;
  using CnnBf16Gpu = SmallCnn::with_precision<agd::bf16>::on<agd::cuda::device>;
  return train<FashionNet, agd::AGD<FashionGpu>, agd::MSELoss>(fashion) +
         train<FashionNet, agd::Adam<FashionGpu>, agd::CrossEntropyLoss>(fashion) +
         train<FashionNet, agd::SGD<FashionGpu>, agd::SquareLoss>(fashion) +
         train<SmallCnn, agd::AGD<CnnGpu>, agd::MSELoss>(cifar) +
         train<SmallCnn::with_precision<agd::bf16>, agd::AGD<CnnBf16Gpu>, agd::MSELoss>(cifar) +
         train<SmallCnn::rebind<double>, agd::AGD<SmallCnn::rebind<double>::on<agd::cuda::device>>,
               agd::CrossEntropyLoss>(cifar);
}
