// What the examples share: loading Fashion-MNIST and preprocessing it the way the paper's
// official code does (or as Prescription 1 asks), and the common settings. Their flags are in
// example_flags.hpp, apart, so that a translation unit that trains a network need not compile
// CLI11.
#pragma once

#include <agd/agd.hpp>
#if AGD_WITH_CUDA
#include <agd/cuda.hpp>
#endif

#include <cstdint>
#include <iostream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#ifndef AGD_WITH_CUDA
#define AGD_WITH_CUDA 0
#endif

namespace examples {

/// Whether this build of the examples has the CUDA backend (configured with -DAGD_CUDA=ON).
inline constexpr bool cuda_build = AGD_WITH_CUDA;

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

/// A network of type Net, or (--precision bf16) Net::with_precision<agd::bf16>, which the
/// training code takes as the Net it derives from: its precision travels in its context, so an
/// example that offers both precisions compiles its training code once (per device).
template <class Net>
class network_in_precision {
 public:
  network_in_precision(const std::string& precision, std::size_t batch_capacity) {
    if (precision == "bf16")
      bf16_.emplace(batch_capacity);
    else if (precision == "fp32")
      fp32_.emplace(batch_capacity);
    else
      throw std::invalid_argument("--precision " + precision + ": fp32 or bf16");
  }
  Net& get() {
    if (bf16_) return *bf16_;
    return *fp32_;
  }

 private:
  std::optional<Net> fp32_;
  std::optional<typename Net::template with_precision<agd::bf16>> bf16_;
};

struct data_settings {
  std::string data_dir = agd::data::default_fashion_mnist_dir.string();
  std::string inputs = "standardise";
};

/// The flags every training example takes. Set an example's own defaults before
/// add_run_flags, which shows them in --help.
struct run_settings {
  std::size_t epochs = 1;
  std::size_t batch = 128;
  std::size_t max_steps = 0;
  int threads = 0;
  std::uint64_t seed = 0;
  std::string csv;
  /// fp32, or bf16: GEMM and convolution inputs in bfloat16 (network_in_precision).
  std::string precision = "fp32";

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

/// A preprocessed training and test set, and the preprocessing applied to both (which a saved
/// model carries, so that it can later classify raw images).
struct prepared_data {
  agd::data::dataset train;
  agd::data::dataset test;
  agd::data::preprocessing inputs;
};

/// The training and test sets, preprocessed with the training set's statistics. `announce`:
/// say where they are read from (a data-parallel run lets rank 0 alone say it).
inline prepared_data load_fashion_mnist(const data_settings& s, bool announce = true) {
  if (announce) std::cerr << "loading Fashion-MNIST from " << s.data_dir << "\n";
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
