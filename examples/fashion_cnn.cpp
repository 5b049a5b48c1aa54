// A small VGG-style CNN trained on Fashion-MNIST with automatic gradient descent: the images
// are 1x28x28 columns from the same IDX reader as the FCN example, preprocessed the same way
// (standardised by the training set's mean and std), with the official MSE loss. Compare with
// build/examples/fashion_mnist, the depth-4 width-512 FCN, after the same number of epochs.
//
//   build/examples/fashion_cnn --epochs 3
//   build/examples/fashion_cnn --epochs 1 --max-steps 50 --csv cnn.csv
#include "example_flags.hpp"

#include <cstdio>
#include <iostream>
#include <string>

#include "cnn_models.hpp"

namespace {
using Net = examples::FashionCNN;
static_assert(Net::input_size == 784 && Net::output_size == 10 && Net::depth == 4);
}  // namespace

int main(int argc, char** argv) {
  examples::run_settings run = examples::run_settings::with_epochs(3);
  std::string loss = "mse";
  double gain = 1;
  examples::data_settings data;
  CLI::App app{"Train a small CNN on Fashion-MNIST with automatic gradient descent"};
  examples::add_run_flags(app, run);
  app.add_option("--loss", loss, "mse (the official code's) or xent (cross-entropy)")
      ->check(CLI::IsMember({"mse", "xent"}))
      ->capture_default_str();
  app.add_option("--gain", gain, "AGD gain (the paper uses 1)")
      ->check(examples::finite_number(0, examples::max_gain, /*low_excluded=*/true))
      ->capture_default_str();
  examples::add_data_flags(app, data);
  std::string device = "cpu";
  examples::add_device_flag(app, device);
  CLI11_PARSE(app, argc, argv);

  try {
    agd::set_threads(run.threads);
    const auto [train_set, test_set, preprocessing] = examples::load_fashion_mnist(data);
    std::cerr << Net::summary();
    const double accuracy = examples::on_device<Net>(device, [&]<class Model>() {
      examples::network_in_precision<Model> made(run.precision, run.batch);
      Model& net = made.get();
      agd::AGD optimizer(net, {.gain = gain, .seed = run.seed});
      const agd::train::fit_options options = run.fit_options();
      const auto history = loss == "mse" ? agd::train::fit(net, optimizer, agd::MSELoss{},
                                                           train_set, test_set, options)
                                         : agd::train::fit(net, optimizer, agd::CrossEntropyLoss{},
                                                           train_set, test_set, options);
      return history.back().test_accuracy;
    });
    std::printf("final test accuracy: %.2f%%\n", 100 * accuracy);
  } catch (const std::exception& error) {
    std::cerr << "fashion_cnn: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
