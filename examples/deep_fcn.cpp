// A 32-layer width-256 fully-connected network (the paper's Figure 1, left) trained on
// Fashion-MNIST with AGD. --relu plain swaps the official code's sqrt(2)-gain ReLU for the
// textbook one, to show why the gain matters: the signal then halves in energy at every layer,
// the gradients vanish and eta stays near 0.
//
//   build/examples/deep_fcn --epochs 1
//   build/examples/deep_fcn --epochs 1 --relu plain
#include "example_flags.hpp"

#include <cstdio>

namespace {

constexpr std::size_t depth = 32, width = 256;
using ScaledNet = agd::FCN<784, width, 10, depth, agd::Sqrt2Relu>;
using PlainNet = agd::FCN<784, width, 10, depth, agd::Relu>;
static_assert(ScaledNet::depth == depth && PlainNet::depth == depth);

template <class Net>
double run(std::size_t batch, const std::string& precision, const agd::data::dataset& train_set,
           const agd::data::dataset& test_set, const agd::train::fit_options& options,
           std::uint64_t seed) {
  examples::network_in_precision<Net> made(precision, batch);
  Net& net = made.get();
  agd::AGD optimizer(net, {.seed = seed});
  std::cerr << "agd::FCN<784, " << width << ", 10, " << depth << ">: " << Net::parameter_count
            << " parameters, depth L = " << Net::depth << "\n";
  return agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options)
      .back()
      .test_accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  examples::run_settings common;
  std::string relu = "sqrt2";
  examples::data_settings data;
  CLI::App app{"Train a 32-layer width-256 FCN on Fashion-MNIST with AGD (the paper's Figure 1)"};
  examples::add_run_flags(app, common);
  app.add_option("--relu", relu, "sqrt2: the official code's sqrt(2)*relu; plain: max(0, x)")
      ->check(CLI::IsMember({"sqrt2", "plain"}))
      ->capture_default_str();
  examples::add_data_flags(app, data);
  CLI11_PARSE(app, argc, argv);

  try {
    agd::set_threads(common.threads);
    const auto [train_set, test_set, preprocessing] = examples::load_fashion_mnist(data);
    const agd::train::fit_options options = common.fit_options();
    const double accuracy = relu == "sqrt2"
                                ? run<ScaledNet>(common.batch, common.precision, train_set,
                                                 test_set, options, common.seed)
                                : run<PlainNet>(common.batch, common.precision, train_set, test_set,
                                                options, common.seed);
    std::printf("final test accuracy: %.2f%%\n", 100 * accuracy);
  } catch (const std::exception& error) {
    std::cerr << "deep_fcn: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
