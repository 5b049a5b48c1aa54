// Trains a depth-4 width-512 fully-connected network on Fashion-MNIST with automatic gradient
// descent (no learning rate), as in the paper's official code: sqrt(2)-gain ReLUs, inputs
// standardised by the training set's mean and std, the official MSE loss, batch 128.
//
//   build/examples/fashion_mnist --epochs 3
//   build/examples/fashion_mnist --optimizer adam --lr 1e-3 --loss xent --csv adam.csv
#include "example_support.hpp"

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace {

using Net =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
static_assert(Net::depth == 4);

struct settings {
  examples::run_settings run = examples::run_settings::with_epochs(3);
  std::string loss = "mse";
  std::string optimizer = "agd";
  std::optional<double> lr;
  double momentum = 0;
  double gain = 1;
  examples::data_settings data;
  std::string checkpoint;
  std::size_t checkpoint_every = 0;
  std::string resume;
  std::string device = "cpu";
};

template <class Loss, class Opt>
double train(Net& net, Opt& optimizer, const agd::data::dataset& train_set,
             const agd::data::dataset& test_set, const settings& s) {
  agd::train::fit_options options = s.run.fit_options();
  if (!s.resume.empty()) {
    const auto info = agd::io::load_checkpoint(s.resume, net, optimizer);
    options.resume = agd::train::training_position::from_metadata(info.extra);
    std::cerr << "resumed from " << s.resume << " at epoch " << options.resume->epoch << ", step "
              << options.resume->step_in_epoch << " of it (" << options.resume->global_step
              << " steps in all)\n";
  }
  if (!s.checkpoint.empty()) {
    options.checkpoint_every_steps = s.checkpoint_every;
    options.on_checkpoint = [&](const agd::train::training_position& position) {
      agd::io::save_checkpoint(
          s.checkpoint, net, optimizer,
          {.step = position.global_step, .epoch = position.epoch, .extra = position.to_metadata()});
    };
  }
  const auto history = agd::train::fit(net, optimizer, Loss{}, train_set, test_set, options);
  return history.back().test_accuracy;
}

template <class Loss>
double train_with_optimizer(Net& net, const agd::data::dataset& train_set,
                            const agd::data::dataset& test_set, const settings& s) {
  if (s.optimizer == "agd") {
    agd::AGD optimizer(net, {.gain = s.gain, .seed = s.run.seed});
    return train<Loss>(net, optimizer, train_set, test_set, s);
  }
  if (s.optimizer == "adam") {
    agd::Adam optimizer(net, {.lr = s.lr.value_or(1e-3), .seed = s.run.seed});
    return train<Loss>(net, optimizer, train_set, test_set, s);
  }
  agd::SGD optimizer(net, {.lr = s.lr.value_or(0.1), .momentum = s.momentum, .seed = s.run.seed});
  return train<Loss>(net, optimizer, train_set, test_set, s);
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"Train a depth-4 width-512 FCN on Fashion-MNIST with automatic gradient descent"};
  examples::add_run_flags(app, s.run);
  app.add_option("--loss", s.loss,
                 "mse: the official code's mean squared error; square: the paper's "
                 "1/(2 d_L)||f-y||^2; xent: cross-entropy")
      ->check(CLI::IsMember({"mse", "square", "xent"}))
      ->capture_default_str();
  app.add_option("--optimizer", s.optimizer, "agd (no learning rate), adam or sgd")
      ->check(CLI::IsMember({"agd", "adam", "sgd"}))
      ->capture_default_str();
  app.add_option("--lr", s.lr, "Learning rate of adam (default 1e-3) or sgd (default 0.1)")
      ->check(CLI::PositiveNumber);
  app.add_option("--momentum", s.momentum, "SGD momentum")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str();
  app.add_option("--gain", s.gain, "AGD gain (the paper uses 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  examples::add_data_flags(app, s.data);
  app.add_option("--checkpoint", s.checkpoint,
                 "Save the weights and optimiser state here (safetensors, written atomically) "
                 "after every epoch");
  app.add_option("--checkpoint-every", s.checkpoint_every,
                 "Also save every N steps (0: only after each epoch)");
  app.add_option("--resume", s.resume,
                 "Continue the run saved in this checkpoint (same flags and seed: it goes on bit "
                 "for bit)");
  app.add_option("--device", s.device,
                 "cpu, or cuda: the CUDA build of this example, fashion_mnist_cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (s.device == "cuda") {
    std::cerr << "fashion_mnist: this program is the CPU build. The GPU version is "
                 "build/examples/fashion_mnist_cuda, built when CMake is configured with "
                 "-DAGD_CUDA=ON (it needs nvcc, and an NVIDIA GPU to run).\n";
    return 2;
  }
  if (s.lr && s.optimizer == "agd") {
    std::cerr << "fashion_mnist: --lr is for adam and sgd; AGD sets its own learning rate\n";
    return 2;
  }

  try {
    agd::set_threads(s.run.threads);
    const auto [train_set, test_set] = examples::load_fashion_mnist(s.data);
    Net net(s.run.batch);
    std::cerr << Net::summary() << "optimizer " << s.optimizer << ", loss " << s.loss << ", batch "
              << s.run.batch << ", " << agd::gemm_backend() << " GEMM\n";
    double accuracy = 0;
    if (s.loss == "mse")
      accuracy = train_with_optimizer<agd::MSELoss>(net, train_set, test_set, s);
    else if (s.loss == "square")
      accuracy = train_with_optimizer<agd::SquareLoss>(net, train_set, test_set, s);
    else
      accuracy = train_with_optimizer<agd::CrossEntropyLoss>(net, train_set, test_set, s);
    std::printf("final test accuracy: %.2f%%\n", 100 * accuracy);
  } catch (const std::exception& error) {
    std::cerr << "fashion_mnist: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
