// What examples/fashion_mnist.cpp (its flags, the data) and fashion_mnist_train.cpp (the network
// and its training) share: the run's settings and the entry points of the training unit. The
// two are separate translation units that compile in parallel, and the one that instantiates
// the network compiles neither CLI11 nor the data readers.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "example_support.hpp"

namespace examples::fashion_mnist {

struct settings {
  run_settings run = run_settings::with_epochs(3);
  std::string loss = "mse";
  std::string optimizer = "agd";
  std::optional<double> lr;
  double momentum = 0;
  double gain = 1;
  data_settings data;
  std::string checkpoint;
  std::size_t checkpoint_every = 0;
  std::string resume;
  std::string device = "cpu";
};

/// The network's summary (Net::summary()): layers, shapes, parameters.
std::string network_summary();

/// Trains the network as the settings say (resuming and checkpointing if asked) and returns its
/// final test accuracy; none if `stop` was set before the last epoch ended (the checkpoint, if
/// one is set, then holds the step it stopped after).
std::optional<double> train(const settings& s, const prepared_data& data,
                            agd::train::stop_request* stop = nullptr);

}  // namespace examples::fashion_mnist
