// The CIFAR-10 training loop of examples/cifar_cnn.cpp, written out step by step (rather than
// through agd::train::fit) to show the pieces: the paper's preprocessing (per-channel
// standardisation) and augmentation (random crop with 4-pixel padding, horizontal flip), the
// seeded batch order, train_step, and evaluation. tests/test_cifar_models.cpp runs it on a small
// generated CIFAR-10 set.
#pragma once

#include "example_support.hpp"

#include <agd/agd.hpp>
#include <agd/data/batches.hpp>
#include <agd/data/cifar.hpp>
#include <agd/train/fit.hpp>
#include <agd/train/progress.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace examples {

struct cifar_settings {
  std::string data_dir;
  std::size_t epochs = 1;
  std::size_t batch = 128;
  std::size_t max_steps = 0;  // per epoch; 0: the whole epoch
  bool augment = true;
  std::uint64_t seed = 0;
  std::string loss = "mse";
  std::string device = "cpu";
  std::string precision = "fp32";
};

struct cifar_result {
  std::size_t steps = 0;
  double first_loss = 0, last_loss = 0, last_eta = 0;
  double seconds_per_step = 0;
  double test_loss = 0, test_accuracy = 0;
};

template <class Net, class Loss>
cifar_result train_cifar_with(const cifar_settings& s, std::ostream& log) {
  namespace data = agd::data;
  log << "loading CIFAR-10 from " << s.data_dir << "\n";
  auto train_set = data::load_cifar(s.data_dir, data::split::train, data::cifar_kind::cifar10);
  auto test_set = data::load_cifar(s.data_dir, data::split::test, data::cifar_kind::cifar10);
  const auto statistics = data::compute_channel_standardisation(train_set);
  data::apply(statistics, train_set);
  data::apply(statistics, test_set);
  log << train_set.size() << " training and " << test_set.size() << " test images\n";

  network_in_precision<Net> made(s.precision, s.batch);
  Net& net = made.get();
  agd::AGD optimizer(net, {.seed = s.seed});
  data::batch_sampler sampler(train_set.size(), s.batch, s.seed);
  data::crop_flip_augmenter augmenter(3, 32, 32, 4, s.seed);
  std::vector<std::int32_t> labels(s.batch);
  // The batch is gathered and augmented on the host: in the network's input buffer on the CPU,
  // in a staging matrix copied to the device on CUDA.
  agd::matrix<typename Net::scalar_type> staging;
  if constexpr (!Net::backend_type::host_memory)
    staging.resize(Eigen::Index(Net::input_size), Eigen::Index(s.batch));
  cifar_result result;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 0; epoch < s.epochs; ++epoch) {
    sampler.start_epoch(epoch);
    const std::size_t steps = s.max_steps ? std::min(s.max_steps, sampler.batches_per_epoch())
                                          : sampler.batches_per_epoch();
    agd::train::progress_bar progress(log,
                                      &log == &std::cerr && agd::train::stream_is_terminal(stderr),
                                      "epoch " + std::to_string(epoch + 1), steps);
    std::span<const std::size_t> indices;
    for (std::size_t step = 0; step < steps && sampler.next(indices); ++step) {
      const auto batch_labels = std::span<const std::int32_t>(labels).first(indices.size());
      double loss = 0;
      if constexpr (Net::backend_type::host_memory) {
        auto inputs = net.input_buffer();
        data::gather_batch(train_set, indices, inputs, std::span(labels).first(indices.size()));
        if (s.augment) augmenter.apply(inputs, indices.size());
        loss = agd::train::train_step<Loss>(net, optimizer, batch_labels);
      } else {
        data::gather_batch(train_set, indices, staging, std::span(labels).first(indices.size()));
        if (s.augment) augmenter.apply(staging, indices.size());
        net.load_batch(staging.leftCols(Eigen::Index(indices.size())), batch_labels);
        loss = agd::train::train_step<Loss>(net, optimizer, indices.size()).read();
      }
      if (result.steps == 0) result.first_loss = loss;
      result.last_loss = loss;
      result.last_eta = optimizer.automatic_learning_rate();
      ++result.steps;
      progress.update(step + 1, loss, result.last_eta);
    }
    progress.finish();
  }
  result.seconds_per_step =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
      double(result.steps);
  const auto test = agd::train::evaluate(net, Loss{}, test_set);
  result.test_loss = test.loss;
  result.test_accuracy = test.accuracy;
  return result;
}

template <class Net>
cifar_result train_cifar(const cifar_settings& s, std::ostream& log) {
  log << Net::summary();
  return on_device<Net>(s.device, [&]<class Model>() {
    if (s.loss == "xent") return train_cifar_with<Model, agd::CrossEntropyLoss>(s, log);
    return train_cifar_with<Model, agd::MSELoss>(s, log);
  });
}

}  // namespace examples
