// What the examples share: loading Fashion-MNIST and preprocessing it the way the paper's
// official code does (or as Prescription 1 asks), and the common flags.
#pragma once

#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <utility>

namespace examples {

struct data_settings {
  std::string data_dir = agd::data::default_fashion_mnist_dir.string();
  std::string inputs = "standardise";
};

inline void add_data_flags(CLI::App& app, data_settings& s) {
  app.add_option("--data", s.data_dir, "Directory with the Fashion-MNIST IDX files")
      ->capture_default_str();
  app.add_option("--inputs", s.inputs,
                 "standardise: by the training set's mean and std (official code); "
                 "prescription1: each input scaled to norm sqrt(784)")
      ->check(CLI::IsMember({"standardise", "prescription1"}))
      ->capture_default_str();
}

/// The flags every training example takes. Set an example's own defaults before
/// add_run_flags, which shows them in --help.
struct run_settings {
  std::size_t epochs = 1;
  std::size_t batch = 128;
  std::size_t max_steps = 0;
  int threads = 0;
  std::uint64_t seed = 0;
  std::string csv;

  /// The defaults with another number of epochs (an example's own default).
  static run_settings with_epochs(std::size_t epochs) {
    run_settings s;
    s.epochs = epochs;
    return s;
  }

  /// agd::train::fit's options for these settings (epochs, seed, steps per epoch, CSV).
  agd::train::fit_options fit_options() const {
    agd::train::fit_options options;
    options.epochs = epochs;
    options.seed = seed;
    options.max_steps_per_epoch = max_steps;
    if (!csv.empty()) options.csv = csv;
    return options;
  }
};

inline void add_run_flags(CLI::App& app, run_settings& s) {
  app.add_option("--epochs", s.epochs, "Number of epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch", s.batch, "Mini-batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--csv", s.csv,
                 "Write one row per epoch: " + std::string(agd::train::epoch_csv_header));
  app.add_option("--threads", s.threads, "Threads of the CPU backend (0: all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Seed of the initialisation and the batch order")
      ->capture_default_str();
  app.add_option("--max-steps", s.max_steps, "Stop each epoch after this many steps (0: no limit)");
}

/// The training and test sets, preprocessed with the training set's statistics.
inline std::pair<agd::data::dataset, agd::data::dataset> load_fashion_mnist(
    const data_settings& s) {
  std::cerr << "loading Fashion-MNIST from " << s.data_dir << "\n";
  auto train_set = agd::data::load_mnist_format(s.data_dir, agd::data::split::train);
  auto test_set = agd::data::load_mnist_format(s.data_dir, agd::data::split::test);
  if (s.inputs == "standardise") {
    const auto statistics = agd::data::compute_standardisation(train_set);
    agd::data::apply(statistics, train_set);
    agd::data::apply(statistics, test_set);
  } else {
    agd::data::scale_to_sqrt_dim(train_set);
    agd::data::scale_to_sqrt_dim(test_set);
  }
  return {std::move(train_set), std::move(test_set)};
}

}  // namespace examples
