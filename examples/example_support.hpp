// What the examples share: loading Fashion-MNIST and preprocessing it the way the paper's
// official code does (or as Prescription 1 asks), and the common flags.
#pragma once

#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <CLI/CLI.hpp>

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
