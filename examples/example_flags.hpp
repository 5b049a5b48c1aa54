// The flags every example shares (CLI11), for the settings of example_support.hpp. Kept out of
// example_support.hpp so that the translation units that instantiate a network do not compile
// CLI11 too (examples/fashion_mnist.cpp parses its flags apart from fashion_mnist_train.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "example_support.hpp"
#include "flag_checks.hpp"

namespace examples {

/// --device cpu|cuda.
inline void add_device_flag(CLI::App& app, std::string& device) {
  app.add_option("--device", device,
                 "cpu, or cuda: the same network on an NVIDIA GPU (in a build configured with "
                 "-DAGD_CUDA=ON)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
}

inline void add_data_flags(CLI::App& app, data_settings& s) {
  app.add_option("--data", s.data_dir, "Directory with the Fashion-MNIST IDX files")
      ->check(non_empty_path())
      ->capture_default_str();
  app.add_option("--inputs", s.inputs,
                 "standardise: by the training set's mean and std (official code); "
                 "prescription1: each input scaled to norm sqrt(784)")
      ->check(CLI::IsMember({"standardise", "prescription1"}))
      ->capture_default_str();
}

/// --precision fp32|bf16 (Net::with_precision<agd::bf16>: needs a CPU with AVX512-BF16 or AMX,
/// or an NVIDIA GPU of compute capability 8.0 or later).
inline void add_precision_flag(CLI::App& app, std::string& precision) {
  app.add_option("--precision", precision,
                 "fp32, or bf16: GEMM and convolution inputs in bfloat16 with float sums, "
                 "weights and updates (needs AVX512-BF16 or AMX, or a GPU of compute "
                 "capability 8.0+)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
}

inline void add_run_flags(CLI::App& app, run_settings& s) {
  app.add_option("--epochs", s.epochs, "Number of epochs")
      ->check(whole_number(1, max_epochs))
      ->capture_default_str();
  app.add_option("--batch", s.batch, "Mini-batch size (at most the training set's size)")
      ->check(whole_number(1, max_batch))
      ->capture_default_str();
  app.add_option("--csv", s.csv,
                 "Write one row per epoch: " + std::string(agd::train::epoch_csv_header))
      ->check(non_empty_path());
  app.add_option("--threads", s.threads, "Threads of the CPU backend (0: all cores)")
      ->check(whole_number(0, agd::thread_pool::max_threads))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Seed of the initialisation and the batch order")
      ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  app.add_option("--max-steps", s.max_steps, "Stop each epoch after this many steps (0: no limit)")
      ->check(whole_number(0, max_steps_flag));
  add_precision_flag(app, s.precision);
}

}  // namespace examples
