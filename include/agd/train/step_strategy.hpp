// How train::fit takes its steps: in one process, or data-parallel over the ranks of a
// communicator (docs/distributed.md). fit's loop is the same for both; what differs (who logs
// and writes files, the global batch, each rank's share of it, the step with its gradients
// summed over the ranks, how a stop request or a failure reaches every rank, the share of the
// test set each rank evaluates) is behind step_strategy, chosen once when fit starts. A virtual
// interface rather than a template parameter: fit's body is compiled once per network, not
// once per strategy.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "agd/distributed/data_parallel.hpp"
#include "agd/train/batch_loader.hpp"
#include "agd/train/step.hpp"

namespace agd::train {

/// A callable borrowed for the length of one call (a callback passed to the strategy), so that
/// passing one allocates nothing, as std::function may for a lambda of several references.
class callback_ref {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, callback_ref>) callback_ref(F&& f)
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object) { (*static_cast<std::remove_reference_t<F>*>(object))(); }) {}
  void operator()() const { call_(object_); }

 private:
  void* object_;
  void (*call_)(void*);
};

/// What fit's loop asks of the way it steps (see the top of this file).
template <class Net, class Opt, class Loss>
class step_strategy {
 public:
  virtual ~step_strategy() = default;
  /// Logs, writes the CSV file and calls on_checkpoint (rank 0, or the one process).
  virtual bool leader() const = 0;
  /// Processes sharing each step: the global batch is batch_capacity() times this.
  virtual std::size_t processes() const = 0;
  /// Runs f, whose failure is this process's alone (a callback, rank 0's file I/O).
  virtual void on_this_process_only(const char* what, callback_ref f) = 0;
  /// After each process's own preparation: throws if one of them failed (`error`: this one's).
  virtual void started(std::exception_ptr error) = 0;
  /// After a read of the step's sums: throws if a step failed.
  virtual void check_status() = 0;
  /// Whether a stop is asked for between epochs (by any process: the same answer on each).
  virtual bool stop_asked(bool asked_here) = 0;
  /// The samples of the global batch this process loads.
  virtual std::span<const std::size_t> share(std::span<const std::size_t> global) const = 0;
  /// One step on the loaded batch, its figures added to `sums` where the step runs; `asked_here`
  /// is whether this process asks to stop (sent with the step, data-parallel).
  virtual void step(training_sums* sums, bool asked_here) = 0;
  /// Whether to stop after the step just taken (global_step: the steps taken so far).
  virtual bool stop_after_step(bool asked_here, std::size_t global_step) = 0;
  /// A step threw something other than agd::non_finite_error, on this process only.
  virtual void step_failed(const std::exception& error) = 0;
  /// Loss and accuracy on the test set (each process a share of it).
  virtual evaluation evaluate(batch_loader<Net>& loader, std::size_t samples) = 0;
};

/// Every step in this process.
template <class Net, class Opt, class Loss>
class single_process_steps final : public step_strategy<Net, Opt, Loss> {
 public:
  using backend = typename Net::backend_type;
  single_process_steps(Net& net, Opt& optimizer) : net_(net), optimizer_(optimizer) {}

  bool leader() const override { return true; }
  std::size_t processes() const override { return 1; }
  void on_this_process_only(const char*, callback_ref f) override { f(); }
  void started(std::exception_ptr error) override {
    if (error) std::rethrow_exception(error);
  }
  void check_status() override { net_.check_status(); }
  bool stop_asked(bool asked_here) override { return asked_here; }
  std::span<const std::size_t> share(std::span<const std::size_t> global) const override {
    return global;
  }
  void step(training_sums* sums, bool) override {
    const std::size_t n = net_.batch_capacity();
    train::train_step<Loss>(net_, optimizer_, n);
    // Accuracy of the batch before the step: the output is still the forward pass's.
    agd::batch_correct(net_, net_.label_buffer());
    backend::single(net_.context(), detail::accumulate_step{sums, net_.result_slots(),
                                                            optimizer_.learning_rate_location(),
                                                            net_.result_slots() + 1, double(n)});
  }
  bool stop_after_step(bool asked_here, std::size_t) override { return asked_here; }
  void step_failed(const std::exception&) override {}
  evaluation evaluate(batch_loader<Net>& loader, std::size_t samples) override {
    return train::evaluate_with<Loss>(net_, loader, samples);
  }

 private:
  Net& net_;
  Opt& optimizer_;
};

/// Data-parallel on asynchronous backends (CUDA), the ranks learn of a stop request from the
/// step's summed figures, which the host reads only every this many steps (reading waits for the
/// step, which would otherwise never wait).
inline constexpr std::size_t distributed_stop_check_steps = 16;

/// Each step over the ranks of a communicator: this rank's share of the global batch, the
/// gradients summed over the ranks (distributed::data_parallel), the figures summed too, so
/// that every rank keeps the same sums and stops at the same step.
template <class Net, class Opt, class Loss>
class data_parallel_steps final : public step_strategy<Net, Opt, Loss> {
 public:
  using backend = typename Net::backend_type;
  data_parallel_steps(Net& net, Opt& optimizer, const distributed::data_parallel_options& options)
      : net_(net), optimizer_(optimizer), parallel_(net, options) {}
  distributed::data_parallel<Net>& parallel() { return parallel_; }

  bool leader() const override { return parallel_.leader(); }
  std::size_t processes() const override { return parallel_.size(); }
  // An exception here stops every rank (the others would wait for this one in their next sum).
  void on_this_process_only(const char* what, callback_ref f) override {
    parallel_.on_this_rank_only(what, f);
  }
  void started(std::exception_ptr error) override { parallel_.check_started(error); }
  void check_status() override {
    // On an asynchronous backend a failed step is found when this rank reads, which the others
    // may not do at this step: it stops every rank. On the CPU every rank throws together.
    if constexpr (backend::asynchronous)
      parallel_.on_this_rank_only("agd::train::fit", [&] { net_.check_status(); });
    else
      net_.check_status();
  }
  bool stop_asked(bool asked_here) override { return parallel_.any_rank_requests_stop(asked_here); }
  std::span<const std::size_t> share(std::span<const std::size_t> global) const override {
    return parallel_.share(global);
  }
  void step(training_sums* sums, bool asked_here) override {
    parallel_.set_stop_requested(asked_here);
    parallel_.template step<Loss>(optimizer_);
    backend::single(
        net_.context(),
        detail::accumulate_step{sums, parallel_.figures(), optimizer_.learning_rate_location(),
                                parallel_.figures() + 1, double(parallel_.global_batch())});
  }
  bool stop_after_step(bool, std::size_t global_step) override {
    if (backend::asynchronous && global_step % distributed_stop_check_steps != 0) return false;
    return parallel_.stop_requested_in_last_step();
  }
  void step_failed(const std::exception& error) override {
    parallel_.comm().abort(std::string("agd::train::fit: ") + error.what());
  }
  evaluation evaluate(batch_loader<Net>& loader, std::size_t samples) override {
    evaluation result;
    std::tie(result.loss, result.accuracy) =
        parallel_.evaluate(samples, [&](std::size_t first, std::size_t count) {
          const evaluation share = train::evaluate_with<Loss>(net_, loader, count, first);
          return std::pair(share.loss, share.accuracy);
        });
    return result;
  }

 private:
  Net& net_;
  Opt& optimizer_;
  distributed::data_parallel<Net> parallel_;
};

}  // namespace agd::train
