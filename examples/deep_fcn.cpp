// A 32-layer width-256 fully-connected network (the paper's Figure 1, left) trained on
// Fashion-MNIST with AGD. --relu plain swaps the official code's sqrt(2)-gain ReLU for the
// textbook one, to show why the gain matters: the signal then halves in energy at every layer,
// the gradients vanish and eta stays near 0.
//
//   build/examples/deep_fcn --epochs 1
//   build/examples/deep_fcn --epochs 1 --relu plain
#include "example_support.hpp"

#include <cstdio>

namespace {

constexpr std::size_t depth = 32, width = 256;
using ScaledNet = agd::FCN<784, width, 10, depth, agd::Sqrt2Relu>;
using PlainNet = agd::FCN<784, width, 10, depth, agd::Relu>;
static_assert(ScaledNet::depth == depth && PlainNet::depth == depth);

template <class Net>
double run(std::size_t batch, const agd::data::dataset& train_set,
           const agd::data::dataset& test_set, const agd::train::fit_options& options,
           std::uint64_t seed) {
  Net net(batch);
  agd::AGD optimizer(net, {.seed = seed});
  std::cerr << "agd::FCN<784, " << width << ", 10, " << depth << ">: " << Net::parameter_count
            << " parameters, depth L = " << Net::depth << "\n";
  return agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options)
      .back()
      .test_accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t epochs = 1, batch = 128, max_steps = 0;
  std::string relu = "sqrt2", csv;
  int threads = 0;
  std::uint64_t seed = 0;
  examples::data_settings data;
  CLI::App app{"Train a 32-layer width-256 FCN on Fashion-MNIST with AGD (the paper's Figure 1)"};
  app.add_option("--epochs", epochs, "Number of epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch", batch, "Mini-batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--relu", relu, "sqrt2: the official code's sqrt(2)*relu; plain: max(0, x)")
      ->check(CLI::IsMember({"sqrt2", "plain"}))
      ->capture_default_str();
  app.add_option("--csv", csv,
                 "Write one row per epoch: " + std::string(agd::train::epoch_csv_header));
  app.add_option("--threads", threads, "GEMM threads (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "Seed of the initialisation and the batch order");
  app.add_option("--max-steps", max_steps, "Stop each epoch after this many steps (0: no limit)");
  examples::add_data_flags(app, data);
  CLI11_PARSE(app, argc, argv);

  try {
    agd::set_threads(threads);
    const auto [train_set, test_set] = examples::load_fashion_mnist(data);
    agd::train::fit_options options;
    options.epochs = epochs;
    options.seed = seed;
    options.max_steps_per_epoch = max_steps;
    if (!csv.empty()) options.csv = csv;
    const double accuracy = relu == "sqrt2"
                                ? run<ScaledNet>(batch, train_set, test_set, options, seed)
                                : run<PlainNet>(batch, train_set, test_set, options, seed);
    std::printf("final test accuracy: %.2f%%\n", 100 * accuracy);
  } catch (const std::exception& error) {
    std::cerr << "deep_fcn: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
