// A small VGG-style CNN trained on Fashion-MNIST with automatic gradient descent: the images
// are 1x28x28 columns from the same IDX reader as the FCN example, preprocessed the same way
// (standardised by the training set's mean and std), with the official MSE loss. Compare with
// build/examples/fashion_mnist, the depth-4 width-512 FCN, after the same number of epochs.
//
//   build/examples/fashion_cnn --epochs 3
//   build/examples/fashion_cnn --epochs 1 --max-steps 50 --csv cnn.csv
#include "example_support.hpp"

#include <cstdio>
#include <iostream>
#include <string>

#include "cnn_models.hpp"

namespace {
using Net = examples::FashionCNN;
static_assert(Net::input_size == 784 && Net::output_size == 10 && Net::depth == 4);
}  // namespace

int main(int argc, char** argv) {
  std::size_t epochs = 3, batch = 128, max_steps = 0;
  std::string loss = "mse", csv;
  int threads = 0;
  std::uint64_t seed = 0;
  double gain = 1;
  examples::data_settings data;
  CLI::App app{"Train a small CNN on Fashion-MNIST with automatic gradient descent"};
  app.add_option("--epochs", epochs, "Number of epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch", batch, "Mini-batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--loss", loss, "mse (the official code's) or xent (cross-entropy)")
      ->check(CLI::IsMember({"mse", "xent"}))
      ->capture_default_str();
  app.add_option("--gain", gain, "AGD gain (the paper uses 1)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--csv", csv,
                 "Write one row per epoch: " + std::string(agd::train::epoch_csv_header));
  app.add_option("--threads", threads, "Threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Seed of the initialisation and the batch order");
  app.add_option("--max-steps", max_steps, "Stop each epoch after this many steps (0: no limit)");
  examples::add_data_flags(app, data);
  CLI11_PARSE(app, argc, argv);

  try {
    agd::set_threads(threads);
    const auto [train_set, test_set] = examples::load_fashion_mnist(data);
    std::cerr << Net::summary();
    Net net(batch);
    agd::AGD optimizer(net, {.gain = gain, .seed = seed});
    agd::train::fit_options options;
    options.epochs = epochs;
    options.seed = seed;
    options.max_steps_per_epoch = max_steps;
    if (!csv.empty()) options.csv = csv;
    const auto history = loss == "mse" ? agd::train::fit(net, optimizer, agd::MSELoss{}, train_set,
                                                         test_set, options)
                                       : agd::train::fit(net, optimizer, agd::CrossEntropyLoss{},
                                                         train_set, test_set, options);
    std::printf("final test accuracy: %.2f%%\n", 100 * history.back().test_accuracy);
  } catch (const std::exception& error) {
    std::cerr << "fashion_cnn: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
