// What the examples share: loading Fashion-MNIST and preprocessing it the way the paper's
// official code does (or as Prescription 1 asks), and the common flags.
#pragma once

#include <agd/agd.hpp>
#if AGD_WITH_CUDA
#include <agd/cuda.hpp>
#endif

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <utility>

#include "flag_checks.hpp"

#ifndef AGD_WITH_CUDA
#define AGD_WITH_CUDA 0
#endif

namespace examples {

/// Whether this build of the examples has the CUDA backend (configured with -DAGD_CUDA=ON).
inline constexpr bool cuda_build = AGD_WITH_CUDA;

/// --device cpu|cuda.
inline void add_device_flag(CLI::App& app, std::string& device) {
  app.add_option("--device", device,
                 "cpu, or cuda: the same network on an NVIDIA GPU (in a build configured with "
                 "-DAGD_CUDA=ON)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
}

/// Runs run.template operator()<N>() with N = Net on the CPU backend, or Net on the CUDA
/// backend for --device cuda: the same program, only the network type differs.
template <class Net, class Run>
auto on_device(const std::string& device, Run&& run) {
  if (device == "cuda") {
#if AGD_WITH_CUDA
    return run.template operator()<typename Net::template on<agd::cuda::device>>();
#else
    throw std::invalid_argument(
        "--device cuda: this build has no CUDA backend; configure CMake with -DAGD_CUDA=ON on a "
        "machine with nvcc (and run it on one with an NVIDIA GPU)");
#endif
  }
  return run.template operator()<Net>();
}

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
      ->check(whole_number(1, max_epochs))
      ->capture_default_str();
  app.add_option("--batch", s.batch, "Mini-batch size (at most the training set's size)")
      ->check(whole_number(1, max_batch))
      ->capture_default_str();
  app.add_option("--csv", s.csv,
                 "Write one row per epoch: " + std::string(agd::train::epoch_csv_header));
  app.add_option("--threads", s.threads, "Threads of the CPU backend (0: all cores)")
      ->check(whole_number(0, agd::thread_pool::max_threads))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Seed of the initialisation and the batch order")
      ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  app.add_option("--max-steps", s.max_steps, "Stop each epoch after this many steps (0: no limit)")
      ->check(whole_number(0, max_steps_flag));
}

/// A preprocessed training and test set, and the preprocessing applied to both (which a saved
/// model carries, so that it can later classify raw images).
struct prepared_data {
  agd::data::dataset train;
  agd::data::dataset test;
  agd::data::preprocessing inputs;
};

/// The training and test sets, preprocessed with the training set's statistics.
inline prepared_data load_fashion_mnist(const data_settings& s) {
  std::cerr << "loading Fashion-MNIST from " << s.data_dir << "\n";
  prepared_data data{agd::data::load_mnist_format(s.data_dir, agd::data::split::train),
                     agd::data::load_mnist_format(s.data_dir, agd::data::split::test),
                     {}};
  data.inputs =
      s.inputs == "standardise"
          ? agd::data::preprocessing::standardise(agd::data::compute_standardisation(data.train))
          : agd::data::preprocessing::scale_to_sqrt_dim();
  data.inputs.apply(data.train);
  data.inputs.apply(data.test);
  return data;
}

}  // namespace examples
