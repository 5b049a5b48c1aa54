// The depth-4 width-512 FCN of fashion_mnist.cpp trained on an NVIDIA GPU: the same network
// type on the CUDA backend (Net::on<agd::cuda::device>), the same data, preprocessing, batch
// order and initialisation, the official MSE loss and the fused AGD step. Built when CMake is
// configured with -DAGD_CUDA=ON.
//
//   build/examples/fashion_mnist_cuda --epochs 3
#include <agd/agd.hpp>
#include <agd/backend/cuda/sequential.hpp>
#include <agd/data/batches.hpp>

#include <cuda_runtime.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <vector>

namespace {
using Net =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
using DeviceNet = Net::on<agd::cuda::device>;

void require_a_gpu() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess || count == 0)
    throw std::runtime_error(
        std::string("no CUDA device is available (") +
        (status != cudaSuccess ? cudaGetErrorString(status) : "the driver reports 0 devices") +
        "); run build/examples/fashion_mnist on the CPU instead");
}

/// Test accuracy, in chunks of the network's capacity.
double accuracy(DeviceNet& net, const agd::data::dataset& data) {
  std::size_t correct = 0;
  for (std::size_t first = 0; first < data.size(); first += net.batch_capacity()) {
    const std::size_t n = std::min(net.batch_capacity(), data.size() - first);
    net.load_batch(data.inputs.col(Eigen::Index(first)).data(),
                   std::span(data.labels).subspan(first, n));
    net.forward();
    correct += net.count_correct();
  }
  return double(correct) / double(data.size());
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t epochs = 3, batch = 128;
  std::uint64_t seed = 0;
  bool tf32 = false;
  std::string data_dir = agd::data::default_fashion_mnist_dir.string();
  CLI::App app{"Train the depth-4 width-512 FCN on Fashion-MNIST with AGD on an NVIDIA GPU"};
  app.add_option("--epochs", epochs, "Number of epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "Mini-batch size")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Seed of the initialisation and the batch order");
  app.add_option("--data", data_dir, "Directory with the Fashion-MNIST IDX files");
  app.add_flag("--tf32", tf32, "TF32 tensor-core GEMMs (faster, not bit-comparable)");
  CLI11_PARSE(app, argc, argv);
  try {
    require_a_gpu();
    auto train = agd::data::load_mnist_format(data_dir, agd::data::split::train);
    auto test = agd::data::load_mnist_format(data_dir, agd::data::split::test);
    const auto stats = agd::data::compute_standardisation(train);
    agd::data::apply(stats, train);
    agd::data::apply(stats, test);

    Net host(batch);
    agd::AGD init(host, {.seed = seed});  // the CPU backend's initialisation, copied over
    DeviceNet net(batch, {.tf32 = tf32});
    net.copy_weights_from(host);
    agd::cuda::fused_agd_step step(DeviceNet::layout);
    agd::data::batch_sampler sampler(train.size(), batch, seed);
    Eigen::MatrixXf inputs(784, Eigen::Index(batch));
    std::vector<std::int32_t> labels(batch);
    for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
      sampler.start_epoch(epoch);
      std::span<const std::size_t> indices;
      const auto start = std::chrono::steady_clock::now();
      std::size_t steps = 0;
      while (sampler.next(indices)) {
        agd::data::gather_batch(train, indices, inputs, std::span(labels));
        net.load_batch(inputs.data(), labels);
        agd::cuda::train_step(net, step);
        ++steps;
      }
      const double loss = net.loss(), eta = step.eta();  // copied back once per epoch
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("epoch %zu: last loss %.4f, eta %.4f, test accuracy %.2f%%, %.3f ms/step\n",
                  epoch + 1, loss, eta, 100 * accuracy(net, test), 1000 * seconds / double(steps));
    }
  } catch (const std::exception& error) {
    std::cerr << "fashion_mnist_cuda: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
