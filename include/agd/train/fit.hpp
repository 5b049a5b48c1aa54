// The training loop: epochs of seeded shuffled mini-batches, one optimiser step per batch, a
// progress bar, per-epoch metrics and an optional CSV with one row per epoch. The step itself
// (forward, loss, backward, optimiser) allocates nothing: the batch goes straight into the
// network's input buffer and every other buffer was sized from the network type.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "agd/core/errors.hpp"
#include "agd/data/batches.hpp"
#include "agd/data/dataset.hpp"
#include "agd/io/csv.hpp"
#include "agd/loss/accuracy.hpp"
#include "agd/loss/loss.hpp"
#include "agd/optim/optimizer.hpp"
#include "agd/train/position.hpp"
#include "agd/train/progress.hpp"

namespace agd::train {

struct epoch_metrics {
  std::size_t epoch = 0;                          // 1-based
  std::size_t steps = 0;                          // optimiser steps in this epoch
  double train_loss = 0;                          // mean over the epoch's batches, before each step
  double train_accuracy = 0;                      // over the epoch's batches, before each step
  double test_loss = 0;                           // on the whole test set after the epoch
  double test_accuracy = 0;                       // on the whole test set after the epoch
  double mean_eta = 0, min_eta = 0, max_eta = 0;  // learning rate of the optimiser's steps
  double step_ms = 0;  // median wall time of forward+loss+backward+optimiser
  double seconds = 0;  // wall time of the epoch, evaluation included
};

struct fit_options {
  std::size_t epochs = 1;
  /// Seed of the batch order (epoch e shuffles with (seed, e)).
  std::uint64_t seed = 0;
  /// Stop each epoch after this many steps (0: the whole epoch).
  std::size_t max_steps_per_epoch = 0;
  /// Write one row per epoch: epoch,train_loss,train_acc,test_acc,mean_eta,step_ms.
  std::optional<std::filesystem::path> csv;
  /// Where progress and epoch summaries go (nullptr: silent).
  std::ostream* log = &std::cerr;
  /// Draw a progress bar in place when `log` is std::cerr on a terminal.
  bool progress = true;
  /// Called after every step with (global step, loss, eta).
  std::function<void(std::size_t, double, double)> on_step;
  /// Called after every epoch.
  std::function<void(const epoch_metrics&)> on_epoch_end;
  /// Called with the position to resume from every `checkpoint_every_steps` steps (0: never)
  /// and after every epoch: save the network and the optimiser there (agd::io::save_checkpoint).
  std::function<void(const training_position&)> on_checkpoint;
  std::size_t checkpoint_every_steps = 0;
  /// Continue from a saved position (the network and optimiser must hold the state saved with
  /// it). `epochs` still counts from the start of training.
  std::optional<training_position> resume;
};

struct evaluation {
  double loss = 0;
  double accuracy = 0;
};

/// Loss and accuracy of `net` on a whole data set, in chunks of the network's batch capacity.
template <class Net, class Loss>
evaluation evaluate(Net& net, Loss, const data::dataset& data) {
  using S = typename Net::scalar_type;
  static_assert(LossFor<Loss, S>, "agd::train::evaluate: the loss does not model agd::LossFor");
  if (data.size() == 0) throw std::invalid_argument("agd::train::evaluate: the data set is empty");
  if (data.input_size() != Net::input_size)
    throw std::invalid_argument(
        "agd::train::evaluate: the data has " + std::to_string(data.input_size()) +
        " inputs per sample but the network expects " + std::to_string(Net::input_size));
  data::check_labels(data, Net::output_size, "agd::train::evaluate: the data set");
  double loss_sum = 0;
  std::size_t correct = 0;
  const std::size_t chunk = net.batch_capacity();
  for (std::size_t first = 0; first < data.size(); first += chunk) {
    const std::size_t n = std::min(chunk, data.size() - first);
    net.input_buffer().leftCols(Eigen::Index(n)) =
        data.inputs.middleCols(Eigen::Index(first), Eigen::Index(n)).template cast<S>();
    auto output = net.forward_batch(n);
    std::span<const std::int32_t> labels(data.labels.data() + first, n);
    loss_sum += Loss::template value<S>(output, labels) * double(n);
    correct += count_correct<S>(output, labels);
  }
  return {loss_sum / double(data.size()), double(correct) / double(data.size())};
}

/// One training step on the first n columns of the network's input buffer: forward, loss,
/// backward, optimiser. Returns the loss before the step. A NaN or Inf in the batch, the loss or
/// a gradient throws agd::non_finite_error before any weight changes (the optimisers check the
/// gradients).
template <class Loss, class Net, class Opt>
double train_step(Net& net, Opt& optimizer, std::span<const std::int32_t> labels) {
  using S = typename Net::scalar_type;
  const auto n = static_cast<Eigen::Index>(labels.size());
  if (!net.input_buffer().leftCols(n).allFinite()) {
    Eigen::Index row = 0, column = 0;
    (!net.input_buffer().leftCols(n).array().isFinite())
        .template cast<int>()
        .maxCoeff(&row, &column);
    throw non_finite_error("agd::train::train_step: input " + std::to_string(row) + " of sample " +
                           std::to_string(column) + " in the batch is " +
                           std::to_string(net.input_buffer()(row, column)) +
                           "; no weight was changed. Check the data and its preprocessing.");
  }
  auto output = net.forward_batch(labels.size());
  const double loss = Loss::template value_and_gradient<S>(output, labels, net.output_gradient());
  if (!std::isfinite(loss))
    throw non_finite_error("agd::train::train_step: the " + Loss::name() + " loss is " +
                           std::to_string(loss) +
                           "; no weight was changed. The network's output overflowed or the "
                           "inputs are too large.");
  net.backward();
  optimizer.step();
  return loss;
}

inline std::string format_epoch_row(const epoch_metrics& m) {
  char row[256];
  std::snprintf(row, sizeof row, "%zu,%.6f,%.6f,%.6f,%.6f,%.4f", m.epoch, m.train_loss,
                m.train_accuracy, m.test_accuracy, m.mean_eta, m.step_ms);
  return row;
}

inline constexpr const char* epoch_csv_header =
    "epoch,train_loss,train_acc,test_acc,mean_eta,step_ms";

template <class Net, Optimizer Opt, class Loss>
std::vector<epoch_metrics> fit(Net& net, Opt& optimizer, Loss loss_function,
                               const data::dataset& train, const data::dataset& test,
                               const fit_options& options = {}) {
  using S = typename Net::scalar_type;
  static_assert(LossFor<Loss, S>, "agd::train::fit: the loss does not model agd::LossFor");
  using clock = std::chrono::steady_clock;
  if (train.input_size() != Net::input_size)
    throw std::invalid_argument(
        "agd::train::fit: the training data has " + std::to_string(train.input_size()) +
        " inputs per sample but the network expects " + std::to_string(Net::input_size));
  if (test.input_size() != Net::input_size)
    throw std::invalid_argument(
        "agd::train::fit: the test data has " + std::to_string(test.input_size()) +
        " inputs per sample but the network expects " + std::to_string(Net::input_size));
  if (test.size() == 0) throw std::invalid_argument("agd::train::fit: the test set is empty");
  // Every label is checked here, before any step, so that a bad one is named by its index in
  // the data set rather than found mid-epoch (or after the epoch, in the test set).
  data::check_labels(train, Net::output_size, "agd::train::fit: the training set");
  data::check_labels(test, Net::output_size, "agd::train::fit: the test set");
  const std::size_t batch = net.batch_capacity();
  if (train.size() < batch)
    throw std::invalid_argument("agd::train::fit: the training set has " +
                                std::to_string(train.size()) +
                                " samples, fewer than one batch of " + std::to_string(batch));

  // Batches are whole: the partial last batch of an epoch is dropped (a different one each
  // epoch, since the order is reshuffled), which keeps every step the same shape.
  data::batch_sampler sampler(train.size(), batch, options.seed, /*drop_last=*/true);
  std::size_t steps_per_epoch = sampler.batches_per_epoch();
  if (options.max_steps_per_epoch)
    steps_per_epoch = std::min(steps_per_epoch, options.max_steps_per_epoch);
  std::vector<std::int32_t> labels(batch);
  std::vector<double> step_ms(steps_per_epoch);
  // What this run is, recorded in every position it hands to on_checkpoint; a resumed position
  // must agree with it and lie before the last epoch.
  const training_position run =
      training_position::of_run(options.seed, batch, steps_per_epoch, train.size(), Loss::name());
  if (options.resume) options.resume->check_resumable_by(run, options.epochs);
  const training_position start = options.resume.value_or(run);
  std::optional<io::csv_table> csv;
  if (options.csv) {
    csv.emplace(*options.csv, epoch_csv_header);
    // A resumed run keeps the rows of the epochs it does not repeat.
    if (options.resume) csv->keep_existing_rows_before(start.epoch);
    // A path that cannot be written is reported now, not after the first epoch.
    csv->check_writable();
  }
  const bool terminal = options.progress && options.log == &std::cerr && stream_is_terminal(stderr);

  std::vector<epoch_metrics> history;
  std::size_t global_step = start.global_step;
  for (std::size_t epoch = start.epoch; epoch <= options.epochs; ++epoch) {
    const auto epoch_start = clock::now();
    sampler.start_epoch(epoch - 1);
    const bool resumed = options.resume && epoch == start.epoch;
    std::optional<progress_bar> bar;
    if (options.log && options.progress)
      bar.emplace(*options.log, terminal, "epoch " + std::to_string(epoch), steps_per_epoch);
    epoch_metrics m;
    m.epoch = epoch;
    m.min_eta = std::numeric_limits<double>::infinity();
    m.max_eta = -std::numeric_limits<double>::infinity();
    double loss_sum = 0, eta_sum = 0;
    std::size_t correct = 0, seen = 0;
    std::size_t first_step = 0;
    std::span<const std::size_t> indices;
    if (resumed) {
      loss_sum = start.loss_sum;
      eta_sum = start.eta_sum;
      correct = start.correct;
      seen = start.seen;
      m.min_eta = start.min_eta;
      m.max_eta = start.max_eta;
      m.steps = first_step = start.step_in_epoch;
      for (std::size_t skipped = 0; skipped < first_step; ++skipped) sampler.next(indices);
    }
    auto position = [&](std::size_t next_epoch, std::size_t step_in_epoch) {
      training_position p = run;
      p.epoch = next_epoch;
      p.step_in_epoch = step_in_epoch;
      p.global_step = global_step;
      if (step_in_epoch > 0) {
        p.loss_sum = loss_sum;
        p.eta_sum = eta_sum;
        p.min_eta = m.min_eta;
        p.max_eta = m.max_eta;
        p.correct = correct;
        p.seen = seen;
      }
      return p;
    };
    for (std::size_t step = first_step; step < steps_per_epoch && sampler.next(indices); ++step) {
      data::gather_batch(train, indices, net.input_buffer(), std::span<std::int32_t>(labels));
      const auto start = clock::now();
      double loss = 0;
      try {
        loss = train_step<Loss>(net, optimizer, std::span<const std::int32_t>(labels));
      } catch (const non_finite_error& error) {
        throw non_finite_error(std::string(error.what()) + " (epoch " + std::to_string(epoch) +
                               ", step " + std::to_string(step + 1) + ")");
      }
      step_ms[step] = std::chrono::duration<double, std::milli>(clock::now() - start).count();
      const double eta = optimizer.learning_rate();
      correct += count_correct<S>(net.output(), std::span<const std::int32_t>(labels));
      seen += labels.size();
      loss_sum += loss;
      eta_sum += eta;
      m.min_eta = std::min(m.min_eta, eta);
      m.max_eta = std::max(m.max_eta, eta);
      ++m.steps;
      ++global_step;
      if (options.on_step) options.on_step(global_step, loss, eta);
      if (options.on_checkpoint && options.checkpoint_every_steps &&
          global_step % options.checkpoint_every_steps == 0 && step + 1 < steps_per_epoch)
        options.on_checkpoint(position(epoch, step + 1));
      if (bar) bar->update(m.steps, loss_sum / double(m.steps), eta);
    }
    if (bar) bar->finish();
    m.train_loss = loss_sum / double(m.steps);
    m.train_accuracy = double(correct) / double(seen);
    m.mean_eta = eta_sum / double(m.steps);
    // The median over the steps timed in this run (a resumed epoch's earlier steps were not).
    const auto timed_begin = step_ms.begin() + std::ptrdiff_t(first_step);
    const auto timed_end = step_ms.begin() + std::ptrdiff_t(m.steps);
    if (timed_end > timed_begin) {
      auto middle = timed_begin + (timed_end - timed_begin) / 2;
      std::nth_element(timed_begin, middle, timed_end);
      m.step_ms = *middle;
    }
    const evaluation on_test = evaluate(net, loss_function, test);
    m.test_loss = on_test.loss;
    m.test_accuracy = on_test.accuracy;
    m.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    if (options.log) {
      char line[320];
      std::snprintf(line, sizeof line,
                    "epoch %zu: train loss %.4f  train acc %.2f%%  test acc %.2f%%  eta mean %.4f "
                    "(min %.4f max %.4f)  step %.3f ms (median)  %.1f s\n",
                    epoch, m.train_loss, 100 * m.train_accuracy, 100 * m.test_accuracy, m.mean_eta,
                    m.min_eta, m.max_eta, m.step_ms, m.seconds);
      *options.log << line << std::flush;
    }
    if (csv) csv->add_row(format_epoch_row(m));
    history.push_back(m);
    if (options.on_epoch_end) options.on_epoch_end(m);
    if (options.on_checkpoint) options.on_checkpoint(position(epoch + 1, 0));
  }
  return history;
}

}  // namespace agd::train
