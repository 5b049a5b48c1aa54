// The training loop: epochs of seeded shuffled mini-batches, one optimiser step per batch, a
// progress bar, per-epoch metrics and an optional CSV with one row per epoch. The step itself
// (forward, loss, backward, optimiser) allocates nothing: the batch goes straight into the
// network's input and label buffers and every other buffer was sized from the network type.
//
// One loop for every backend. The per-step figures (loss, eta, correct predictions) are summed
// where the step runs (training_sums, in the backend's memory), so that on CUDA a step waits for
// nothing: the sums are read back only for a progress update, a checkpoint, an on_step callback
// (which asks for every step's figures) and the end of the epoch.
//
// A stop request (fit_options::stop, e.g. set by stop_on_signals on Ctrl-C) is honoured after the
// step it arrives in: fit hands on_checkpoint the position after that step, so no work is lost,
// says where it stopped and returns the epochs it completed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "agd/core/errors.hpp"
#include "agd/data/batches.hpp"
#include "agd/data/dataset.hpp"
#include "agd/distributed/communicator.hpp"
#include "agd/distributed/data_parallel.hpp"
#include "agd/io/csv.hpp"
#include "agd/loss/accuracy.hpp"
#include "agd/loss/evaluate.hpp"
#include "agd/loss/loss.hpp"
#include "agd/optim/optimizer.hpp"
#include "agd/train/batch_loader.hpp"
#include "agd/train/position.hpp"
#include "agd/train/progress.hpp"
#include "agd/train/step.hpp"
#include "agd/train/step_strategy.hpp"
#include "agd/train/stop.hpp"

namespace agd::train {

struct epoch_metrics {
  std::size_t epoch = 0;                          // 1-based
  std::size_t steps = 0;                          // optimiser steps in this epoch
  double train_loss = 0;                          // mean over the epoch's batches, before each step
  double train_accuracy = 0;                      // over the epoch's batches, before each step
  double test_loss = 0;                           // on the whole test set after the epoch
  double test_accuracy = 0;                       // on the whole test set after the epoch
  double mean_eta = 0, min_eta = 0, max_eta = 0;  // learning rate of the optimiser's steps
  // Wall time of forward+loss+backward+optimiser per step: the median over the epoch's steps on
  // a synchronous backend (the CPU); on an asynchronous one (CUDA), where the host sees only a
  // step's launch, the mean (the epoch's training time / its steps). The log line says which.
  double step_ms = 0;
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
  /// Show progress: a bar drawn in place when `log` is std::cerr on a terminal; on anything
  /// else a line per tenth of a long epoch (progress_bar::long_epoch_steps steps or more), and
  /// nothing besides the epoch's summary line for a shorter one.
  bool progress = true;
  /// Called after every step with (global step, loss, eta).
  std::function<void(std::size_t, double, double)> on_step;
  /// Called after every epoch.
  std::function<void(const epoch_metrics&)> on_epoch_end;
  /// Called with the position to resume from every `checkpoint_every_steps` steps (0: never)
  /// and after every epoch: save the network and the optimiser there (agd::io::save_checkpoint).
  std::function<void(const training_position&)> on_checkpoint;
  std::size_t checkpoint_every_steps = 0;
  /// Capture the training step in a CUDA Graph after a warm-up step and replay it (the CUDA
  /// backend; the CPU runs every step as it comes). Needs no on_step callback to be faster.
  bool capture_graph = false;
  /// Continue from a saved position (the network and optimiser must hold the state saved with
  /// it). `epochs` still counts from the start of training.
  std::optional<training_position> resume;
  /// Data-parallel training over several processes (docs/distributed.md): name a communicator
  /// (agd/distributed/mpi.hpp, nccl.hpp) and call fit on every rank with the same arguments.
  /// Each rank takes a batch_capacity() share of every global batch of batch_capacity() x ranks
  /// samples (the order one process would use for the global batch); every rank returns the
  /// same metrics; only rank 0 logs, writes `csv` and calls on_checkpoint.
  distributed::data_parallel_options distributed{};
  /// Stop after the current step once this is set (from a callback, another thread, or a
  /// signal: stop_on_signals): fit calls on_checkpoint with the position after that step (unless
  /// that step ended the epoch, whose own checkpoint follows), logs where it stopped and returns
  /// the epochs it completed. Already set when fit starts: fit takes no step. Data-parallel,
  /// a request on any rank reaches the others with the next step's sums, and every rank stops
  /// after that step (every rank must give a stop_request or none; on CUDA the sums are looked
  /// at every distributed_stop_check_steps steps).
  stop_request* stop = nullptr;
};

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
  using backend = typename Net::backend_type;
  static_assert(LossFor<Loss, S>, "agd::train::fit: the loss does not model agd::LossFor");
  (void)loss_function;
  using clock = std::chrono::steady_clock;
  // Data-parallel (options.distributed): the ranks first check that they run the same training
  // (before anything that could fail on one rank only); `batch` is then the global batch, and
  // only the leader (rank 0) logs and writes files.
  std::unique_ptr<step_strategy<Net, Opt, Loss>> steps;
  const auto hash_position = [](const training_position& p) {
    std::string text;
    for (const auto& [key, value] : p.to_metadata()) text += key + "=" + value + ";";
    return distributed::detail::hash_text(text);
  };
  if (options.distributed.comm) {
    auto parallel =
        std::make_unique<data_parallel_steps<Net, Opt, Loss>>(net, optimizer, options.distributed);
    // Every option of fit that changes what a rank computes (or when it stops): a rank with
    // another value would train to other weights, or wait for the others forever.
    namespace facts = distributed::detail;
    const facts::run_fact settings[] = {
        facts::make_fact("seed", options.seed),
        facts::make_fact("epochs", options.epochs),
        facts::make_fact("max_steps_per_epoch", options.max_steps_per_epoch),
        facts::make_fact("checkpoint_every_steps", options.checkpoint_every_steps),
        facts::make_fact("capture_graph", options.capture_graph),
        facts::make_fact("loss", std::string(Loss::name())),
        {"resume position", options.resume ? hash_position(*options.resume) : 0},
        facts::presence_fact("stop request", options.stop != nullptr)};
    parallel->parallel().check_same_run(optimizer, train, test, settings);
    if (options.capture_graph)
      throw std::invalid_argument(
          "agd::train::fit: capture_graph is not supported in data-parallel training yet");
    steps = std::move(parallel);
  } else {
    steps = std::make_unique<single_process_steps<Net, Opt, Loss>>(net, optimizer);
  }
  const bool leader = steps->leader();
  std::ostream* const log = leader ? options.log : nullptr;
  // Runs a callback or rank 0's file I/O; data-parallel, an exception from it is this rank's
  // alone and stops every rank (the others would wait for this one in their next sum).
  const auto this_rank_only = [&](const char* what, auto&& f) {
    steps->on_this_process_only(what, f);
  };
  // Every sample is checked here, before any step, so that a bad one is named by its index in
  // the data set rather than found mid-epoch (or after the epoch, in the test set).
  train::check_dataset<Net>(train, "agd::train::fit", "training set");
  train::check_dataset<Net>(test, "agd::train::fit", "test set");
  const std::size_t batch = net.batch_capacity() * steps->processes();
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
  std::vector<double> step_ms(steps_per_epoch);
  // What this run is, recorded in every position it hands to on_checkpoint; a resumed position
  // must agree with it and lie before the last epoch.
  const training_position run =
      training_position::of_run(options.seed, batch, steps_per_epoch, train.size(), Loss::name());
  if (options.resume) options.resume->check_resumable_by(run, options.epochs);
  const training_position start = options.resume.value_or(run);
  std::optional<io::csv_table> csv;
  std::exception_ptr csv_error;  // thrown by steps->started (data-parallel: on every rank)
  if (options.csv && leader) {
    try {
      csv.emplace(*options.csv, epoch_csv_header);
      // A resumed run keeps the rows of the epochs it does not repeat.
      if (options.resume) csv->keep_existing_rows_before(start.epoch);
      // A path that cannot be written is reported now, not after the first epoch.
      csv->check_writable();
    } catch (...) {
      csv_error = std::current_exception();
    }
  }
  steps->started(csv_error);
  const bool terminal = options.progress && log == &std::cerr && stream_is_terminal(stderr);

  batch_loader<Net> train_loader(net, train);
  batch_loader<Net> test_loader(net, test);
  auto& context = net.context();
  typename backend::step_graph graph(context);
  typename backend::template buffer<training_sums> sums_buffer(1);
  training_sums* sums = sums_buffer.data();
  const auto read_sums = [&] {
    training_sums host;
    backend::download(context, sums, 1, &host);
    backend::synchronize(context);
    steps->check_status();
    return host;
  };

  std::vector<epoch_metrics> history;
  std::size_t global_step = start.global_step;
  // Whether a stop was asked for: data-parallel, by any rank (the same answer on every rank).
  const auto stop_asked_between_epochs = [&] {
    return options.stop && steps->stop_asked(options.stop->requested());
  };
  const auto stopped = [&](const std::string& where) {
    if (log)
      *log << "agd::train::fit: stopped as asked " << where << " (global step " << global_step
           << "); "
           << (global_step == start.global_step ? "no step was taken, so nothing was saved"
               : options.on_checkpoint ? "on_checkpoint was given the position to resume from"
                                       : "nothing was saved (no on_checkpoint)")
           << "\n"
           << std::flush;
    return history;
  };
  for (std::size_t epoch = start.epoch; epoch <= options.epochs; ++epoch) {
    if (stop_asked_between_epochs()) {
      // Before this epoch: the previous one ended with its own checkpoint (if any), and none
      // was taken by this call if it is the first.
      if (global_step == start.global_step) return stopped("before its first step");
      return stopped("after epoch " + std::to_string(epoch - 1));
    }
    const auto epoch_start = clock::now();
    sampler.start_epoch(epoch - 1);
    const bool resumed = options.resume && epoch == start.epoch;
    std::optional<progress_bar> bar;
    // Not on a terminal, a short epoch shows no progress: its summary line below is its line.
    if (log && options.progress && (terminal || progress_bar::is_long(steps_per_epoch)))
      bar.emplace(*log, terminal, "epoch " + std::to_string(epoch), steps_per_epoch);
    epoch_metrics m;
    m.epoch = epoch;
    training_sums initial;
    std::size_t first_step = 0;
    std::span<const std::size_t> indices;
    if (resumed) {
      initial.loss_sum = start.loss_sum;
      initial.eta_sum = start.eta_sum;
      initial.correct = double(start.correct);
      initial.seen = double(start.seen);
      initial.min_eta = start.min_eta;
      initial.max_eta = start.max_eta;
      m.steps = first_step = start.step_in_epoch;
      for (std::size_t skipped = 0; skipped < first_step; ++skipped) sampler.next(indices);
    }
    backend::upload(context, &initial, 1, sums);
    auto position = [&](std::size_t next_epoch, std::size_t step_in_epoch) {
      training_position p = run;
      p.epoch = next_epoch;
      p.step_in_epoch = step_in_epoch;
      p.global_step = global_step;
      if (step_in_epoch > 0) {
        const training_sums now = read_sums();
        p.loss_sum = now.loss_sum;
        p.eta_sum = now.eta_sum;
        p.min_eta = now.min_eta;
        p.max_eta = now.max_eta;
        p.correct = std::size_t(now.correct);
        p.seen = std::size_t(now.seen);
      }
      return p;
    };
    train_loader.begin_epoch(sampler.epoch_order());
    // One step, from the staged batch to the sums: the same work every time (what a step graph
    // captures), since the batch's indices are staged in device memory beforehand.
    bool stop_asked_here = false;
    const auto one_step = [&] {
      train_loader.gather_staged();
      steps->step(sums, stop_asked_here);
    };
    const auto training_start = clock::now();
    for (std::size_t step = first_step; step < steps_per_epoch && sampler.next(indices); ++step) {
      train_loader.stage(steps->share(indices));
      stop_asked_here = options.stop && options.stop->requested();
      const auto step_start = clock::now();
      try {
        if (options.capture_graph)
          graph.run(one_step, [&] { net.set_batch_size(batch); });
        else
          one_step();
      } catch (const non_finite_error& error) {
        // (Data-parallel on the CPU, every rank throws this at the same step.)
        throw non_finite_error(std::string(error.what()) + " (epoch " + std::to_string(epoch) +
                               ", step " + std::to_string(step + 1) + ")");
      } catch (const std::exception& error) {
        steps->step_failed(error);
        throw;
      }
      step_ms[step] = std::chrono::duration<double, std::milli>(clock::now() - step_start).count();
      ++m.steps;
      ++global_step;
      const bool draw = bar && bar->due(m.steps);
      if (options.on_step || draw) {
        const training_sums now = read_sums();
        if (options.on_step)
          this_rank_only("on_step",
                         [&] { options.on_step(global_step, now.last_loss, now.last_eta); });
        if (draw) bar->update(m.steps, now.loss_sum / double(m.steps), now.last_eta);
      }
      const bool checkpoint_due = options.on_checkpoint && options.checkpoint_every_steps &&
                                  global_step % options.checkpoint_every_steps == 0 &&
                                  step + 1 < steps_per_epoch;
      if (checkpoint_due && leader)
        this_rank_only("on_checkpoint", [&] { options.on_checkpoint(position(epoch, step + 1)); });
      // A stop asked for: after the epoch's last step the epoch ends as usual (and the next one
      // does not start); before it, the position after this step is saved, and fit returns.
      const bool stop_now =
          options.stop && steps->stop_after_step(options.stop->requested(), global_step);
      if (stop_now && step + 1 < steps_per_epoch) {
        if (bar) bar->finish();
        if (options.on_checkpoint && leader && !checkpoint_due)
          this_rank_only("on_checkpoint",
                         [&] { options.on_checkpoint(position(epoch, step + 1)); });
        return stopped("after step " + std::to_string(step + 1) + " of " +
                       std::to_string(steps_per_epoch) + " of epoch " + std::to_string(epoch));
      }
    }
    const training_sums totals = read_sums();
    if (bar) bar->finish();
    m.train_loss = totals.loss_sum / double(m.steps);
    m.train_accuracy = totals.correct / totals.seen;
    m.mean_eta = totals.eta_sum / double(m.steps);
    m.min_eta = totals.min_eta;
    m.max_eta = totals.max_eta;
    if constexpr (backend::asynchronous) {
      // A step's wall time on the host is only its launch: report the epoch's mean instead.
      if (m.steps > first_step)
        m.step_ms =
            std::chrono::duration<double, std::milli>(clock::now() - training_start).count() /
            double(m.steps - first_step);
    } else {
      // The median over the steps timed in this run (a resumed epoch's earlier steps were not).
      const auto timed_begin = step_ms.begin() + std::ptrdiff_t(first_step);
      const auto timed_end = step_ms.begin() + std::ptrdiff_t(m.steps);
      if (timed_end > timed_begin) {
        auto middle = timed_begin + (timed_end - timed_begin) / 2;
        std::nth_element(timed_begin, middle, timed_end);
        m.step_ms = *middle;
      }
    }
    const evaluation on_test = steps->evaluate(test_loader, test.size());
    m.test_loss = on_test.loss;
    m.test_accuracy = on_test.accuracy;
    m.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    if (log) {
      char line[320];
      std::snprintf(line, sizeof line,
                    "epoch %zu: train loss %.4f  train acc %.2f%%  test acc %.2f%%  eta mean %.4f "
                    "(min %.4f max %.4f)  step %.3f ms (%s)  %.1f s\n",
                    epoch, m.train_loss, 100 * m.train_accuracy, 100 * m.test_accuracy, m.mean_eta,
                    m.min_eta, m.max_eta, m.step_ms, backend::asynchronous ? "mean" : "median",
                    m.seconds);
      *log << line << std::flush;
    }
    if (csv) this_rank_only("the CSV file", [&] { csv->add_row(format_epoch_row(m)); });
    history.push_back(m);
    if (options.on_epoch_end) this_rank_only("on_epoch_end", [&] { options.on_epoch_end(m); });
    if (options.on_checkpoint && leader)
      this_rank_only("on_checkpoint", [&] { options.on_checkpoint(position(epoch + 1, 0)); });
  }
  return history;
}

}  // namespace agd::train
