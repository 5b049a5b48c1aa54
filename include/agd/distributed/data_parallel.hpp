// Data-parallel training: what agd::train::fit does with a communicator (fit_options::
// distributed). Every rank holds the same network and optimiser; a global batch of
// batch_capacity() x size() samples, drawn from the same seeded order as one process would draw
// it, is split into one contiguous share per rank. A step is
//
//   forward and loss on this rank's share, the loss's gradient scaled by 1/(global batch)
//     (so that the sum over ranks is the gradient of the mean over the global batch);
//   backward, with the sums over the ranks of the weight gradients started one bucket of
//     consecutive weights at a time as soon as the backward pass has finished them (last weight
//     first), and the per-step figures (loss, correct predictions) summed alongside;
//   the optimiser's step, identical on every rank since it reads identical summed gradients.
//
// AGD needs nothing more: G and eta are functions of the full-batch gradient norms (Definition
// 11, Theorem 2), which every rank computes from the same summed gradients, so no optimiser state
// or learning rate is exchanged. Adam's and SGD's states stay equal on every rank the same way.
//
// A NaN or Inf a rank meets is reported to every rank through the summed figures and gradients
// (a non-finite value makes the sum non-finite), so every rank throws the same
// agd::non_finite_error before any weight changes. A stop request (fit_options::stop) travels
// the same way, so that every rank stops after the same step. Ranks check at the start that they
// run the same network type, weights, optimiser, its options and state, data and settings
// (check_same_run).
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "agd/core/errors.hpp"
#include "agd/core/host_device.hpp"
#include "agd/core/math.hpp"
#include "agd/core/status.hpp"
#include "agd/data/dataset.hpp"
#include "agd/distributed/communicator.hpp"
#include "agd/io/checkpoint.hpp"
#include "agd/loss/evaluate.hpp"
#include "agd/optim/optimizer.hpp"

namespace agd::distributed {

/// Data-parallel training in agd::train::fit (fit_options::distributed).
struct data_parallel_options {
  /// The ranks to train with (nullptr: one process). fit uses it for the whole run; every rank
  /// calls fit with the same arguments.
  communicator* comm = nullptr;
  /// Start each bucket's sum as soon as the backward pass has finished its gradients (else one
  /// sum of the whole gradient buffer after the backward pass).
  bool overlap = true;
  /// Gradients are summed in buckets of consecutive weights of at least this many bytes (the
  /// last bucket, the first weights, may be smaller). Fewer, larger sums cost less latency;
  /// smaller ones start earlier. docs/distributed.md measures both.
  std::size_t bucket_bytes = std::size_t(1) << 20;
};

namespace detail {

/// A 64-bit hash of bytes (FNV-1a over 8-byte words, then mixed): equal inputs on every rank
/// give equal hashes; a difference is all but certain to show. Not for adversaries.
inline std::uint64_t hash_bytes(const void* data, std::size_t bytes,
                                std::uint64_t hash = 0xcbf29ce484222325ull) {
  constexpr std::uint64_t prime = 0x100000001b3ull;
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    hash = (hash ^ word) * prime;
  }
  for (; i < bytes; ++i) hash = (hash ^ p[i]) * prime;
  hash ^= hash >> 31;
  hash *= 0x7fb5d329728ea185ull;
  return hash ^ (hash >> 27);
}
inline std::uint64_t hash_text(const std::string& text) {
  return hash_bytes(text.data(), text.size());
}

/// How a fact the ranks compare reads in a message: a hash (only "differs"), a count, a real
/// number, true/false, a text, or an option that may be unset ("none") or something given.
enum class fact_kind { hash, count, real, flag, text, optional_count, presence };

/// One fact the ranks must agree on: what it is and its value: a count, a double's bits, 0 or 1,
/// or a hash (of the text, for a text). `present` is false for an unset optional value.
struct run_fact {
  std::string what;
  std::uint64_t value = 0;
  fact_kind kind = fact_kind::hash;
  std::string text{};
  bool present = true;
};

inline run_fact make_fact(std::string what, bool value) {
  return {std::move(what), value ? 1u : 0u, fact_kind::flag};
}
inline run_fact make_fact(std::string what, double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return {std::move(what), bits, fact_kind::real};
}
template <class Count>
requires(std::is_unsigned_v<Count> && !std::is_same_v<Count, bool>) run_fact
    make_fact(std::string what, Count value) {
  return {std::move(what), std::uint64_t(value), fact_kind::count};
}
inline run_fact make_fact(std::string what, const std::optional<std::uint64_t>& value) {
  return {std::move(what), value.value_or(0), fact_kind::optional_count, {}, value.has_value()};
}
inline run_fact make_fact(std::string what, const std::string& value) {
  return {std::move(what), hash_text(value), fact_kind::text, value};
}
/// Whether something (a callback, a stop request) was given: "given" or "none".
inline run_fact presence_fact(std::string what, bool given) {
  return {std::move(what), given ? 1u : 0u, fact_kind::presence};
}

/// How a rank's value of a fact reads: "64", "0.1", "true", "mse", "none".
inline std::string fact_value_text(fact_kind kind, std::uint64_t value, bool present,
                                   const std::string& text) {
  switch (kind) {
    case fact_kind::real: {
      double number = 0;
      std::memcpy(&number, &value, sizeof number);
      char digits[32];
      // The shortest text that reads back as the same double: 0.1, not 0.10000000000000001.
      const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
      return std::string(digits, end);
    }
    case fact_kind::flag:
      return value ? "true" : "false";
    case fact_kind::presence:
      return value ? "given" : "none";
    case fact_kind::optional_count:
      return present ? std::to_string(value) : "none";
    case fact_kind::text:
      return text;
    default:
      return std::to_string(value);
  }
}

/// The optimiser's options as facts named by the option ("lr").
template <Optimizer Opt>
std::vector<run_fact> option_facts(const Opt& optimizer) {
  std::vector<run_fact> facts;
  optimizer.options().for_each(
      [&](const char* name, const auto& value) { facts.push_back(make_fact(name, value)); });
  return facts;
}

/// The values of this step's figures that are summed over the ranks: this rank's share of the
/// batch loss (its sum over its samples / the global batch), its correct predictions, 2^rank if
/// its loss is not finite (so that every rank can name the rank that failed), and 1 if it asks
/// to stop (so that every rank stops after the same step).
struct collect_figures {
  const double* slots;  // the network's result slots: loss share, correct predictions
  double* figures;
  double rank_bit;
  double stop;
  AGD_HOST_DEVICE void operator()() const {
    figures[0] = slots[0];
    figures[1] = slots[1];
    figures[2] = math::is_finite(slots[0]) ? 0.0 : rank_bit;
    figures[3] = stop;
  }
};

/// After the sums: the step fails on every rank if the summed loss is not finite (on a device,
/// where the host learns of it when it next reads a result; the optimiser then changes nothing).
struct check_summed_figures {
  const double* figures;
  execution_status* status;
  AGD_HOST_DEVICE void operator()() const {
    if (!math::is_finite(figures[0]) && status->code == status_code::ok) {
      status->code = status_code::non_finite_loss;
      status->value = figures[0];
    }
  }
};

}  // namespace detail

/// The data-parallel step of a network on a communicator, and the checks around it. fit
/// constructs one when fit_options::distributed names a communicator; a custom loop can use it
/// the same way (share, step, figures).
template <class Net>
class data_parallel {
 public:
  using backend = typename Net::backend_type;
  using scalar_type = typename Net::scalar_type;
  /// Entries of figures(): the summed loss (the global batch's mean), the correct predictions,
  /// the failed ranks' bits, the ranks that asked to stop.
  static constexpr std::size_t figure_count = 4;

  data_parallel(Net& net, const data_parallel_options& options)
      : net_(net), comm_(checked(options.comm)), options_(options) {
    constexpr memory_space needed =
        backend::host_memory ? memory_space::host : memory_space::cuda_device;
    if (comm_.memory() != needed)
      throw std::invalid_argument(
          std::string("agd::train::fit: the ") + comm_.name() + " communicator sums " +
          (comm_.memory() == memory_space::host ? "host" : "device") +
          " memory, but the network's gradients are in " +
          (backend::host_memory ? "host" : "device") +
          " memory; use agd::distributed::mpi_communicator for a CPU network and "
          "agd::distributed::nccl_communicator for a CUDA network");
    if (comm_.size() == 0 || comm_.rank() >= comm_.size())
      throw std::invalid_argument("agd::train::fit: the communicator says rank " +
                                  std::to_string(comm_.rank()) + " of " +
                                  std::to_string(comm_.size()));
    figures_.resize(figure_count);
    // Buckets of consecutive weights, from the last weight (whose gradient the backward pass
    // finishes first) towards the first.
    const std::size_t threshold = std::max<std::size_t>(options_.bucket_bytes, 1);
    for (std::size_t end = Net::depth; end > 0;) {
      std::size_t first = end - 1;
      while (first > 0 &&
             (Net::weight_offsets[end] - Net::weight_offsets[first]) * sizeof(scalar_type) <
                 threshold)
        --first;
      buckets_.push_back({first, end});
      end = first;
    }
  }

  communicator& comm() const { return comm_; }
  std::size_t rank() const { return comm_.rank(); }
  std::size_t size() const { return comm_.size(); }
  /// Rank 0 prints, and writes the CSV file and the checkpoints.
  bool leader() const { return comm_.rank() == 0; }
  /// Samples per step over all ranks.
  std::size_t global_batch() const { return net_.batch_capacity() * comm_.size(); }
  /// The buckets of weights [first, end) whose gradients are summed together, in the order
  /// their sums start.
  struct bucket {
    std::size_t first, end;
  };
  const std::vector<bucket>& buckets() const { return buckets_; }

  /// This rank's share of a global batch (a contiguous slice of batch_capacity() indices).
  std::span<const std::size_t> share(std::span<const std::size_t> global) const {
    const std::size_t local = net_.batch_capacity();
    if (global.size() != local * comm_.size())
      throw std::logic_error("agd::distributed::data_parallel::share: a global batch of " +
                             std::to_string(global.size()) + " samples for " +
                             std::to_string(comm_.size()) + " ranks of " + std::to_string(local));
    return global.subspan(comm_.rank() * local, local);
  }

  /// One step on this rank's share, in the network's input and label buffers (all
  /// batch_capacity() columns): forward, loss, backward with the gradients summed over the
  /// ranks, the optimiser's step. Every rank must call it together. A non-finite loss on any
  /// rank throws agd::non_finite_error on every rank (on CUDA, when a result is next read),
  /// naming the rank, before any weight changes.
  template <class Loss, class Opt>
  void step(Opt& optimizer) {
    using clock = std::chrono::steady_clock;
    auto& context = net_.context();
    const std::size_t n = net_.batch_capacity();
    net_.forward_batch(n);
    std::string local_error;  // this rank's own words for a non-finite loss (the CPU throws)
    if constexpr (backend::asynchronous) {
      agd::batch_loss<Loss>(net_, net_.label_buffer(), true, global_batch());
    } else {
      try {
        agd::batch_loss<Loss>(net_, net_.label_buffer(), true, global_batch());
      } catch (const non_finite_error& error) {
        local_error = error.what();  // reported below, once every rank knows
      }
    }
    // Accuracy of the batch before the step (the output is the forward pass's).
    agd::batch_correct(net_, net_.label_buffer());
    backend::single(context, detail::collect_figures{
                                 net_.result_slots(), figures_.data(),
                                 comm_.rank() < 52 ? double(std::uint64_t(1) << comm_.rank()) : 1.0,
                                 stop_requested_ ? 1.0 : 0.0});
    comm_.start_sum(figures_.data(), figure_count);
    next_bucket_ = 0;
    if (options_.overlap) {
      net_.backward_by_layer([this](std::size_t k) { weight_gradient_done(k); });
    } else {
      net_.backward();
      comm_.start_sum(net_.gradient_data(), Net::parameter_count);
    }
    const auto wait_start = clock::now();
    comm_.finish_sums();
    last_wait_seconds_ = std::chrono::duration<double>(clock::now() - wait_start).count();
    if constexpr (backend::asynchronous) {
      backend::single(
          context, detail::check_summed_figures{figures_.data(), backend::status_pointer(context)});
    } else {
      if (!std::isfinite(figures_.data()[0])) throw non_finite_loss(local_error);
    }
    optimizer.step();
  }

  /// The summed figures of the last step, in backend memory: the global batch's mean loss, its
  /// correct predictions.
  const double* figures() const { return figures_.data(); }

  /// Whether this rank asks to stop: sent with the figures of every step from the next on.
  void set_stop_requested(bool requested) { stop_requested_ = requested; }
  /// Whether any rank asked to stop in the last step (the same answer on every rank). On a
  /// device this reads the step's figures back, so it waits for the step to finish.
  bool stop_requested_in_last_step() const {
    double asked = 0;
    backend::download(net_.context(), figures_.data() + 3, 1, &asked);
    backend::synchronize(net_.context());
    return asked > 0;
  }
  /// Whether any rank asks to stop, outside a step (between epochs): a sum over the ranks, so
  /// every rank must call it together.
  bool any_rank_requests_stop(bool mine) {
    std::array<double, 1> asked{mine ? 1.0 : 0.0};
    comm_.sum_on_host(asked);
    return asked[0] > 0;
  }
  /// Seconds the last step waited for its sums after the backward pass (on the CPU: the
  /// communication the backward pass did not hide; on a device: only the enqueueing).
  double last_wait_seconds() const { return last_wait_seconds_; }

  /// Loss and accuracy over `samples` samples, each rank taking a contiguous share:
  /// evaluate_range(first, count) returns the mean loss and accuracy of [first, first + count).
  /// A non-finite loss on one rank's share throws agd::non_finite_error on every rank.
  template <class EvaluateRange>
  std::pair<double, double> evaluate(std::size_t samples, EvaluateRange&& evaluate_range) {
    const std::size_t first = samples * comm_.rank() / comm_.size();
    const std::size_t end = samples * (comm_.rank() + 1) / comm_.size();
    std::array<double, 2> sums{0, 0};
    std::string local_error;
    if (end > first) {
      try {
        const auto [loss, accuracy] = evaluate_range(first, end - first);
        sums = {loss * double(end - first), accuracy * double(end - first)};
      } catch (const non_finite_error& error) {
        local_error = error.what();
        sums[0] = std::numeric_limits<double>::quiet_NaN();  // tells every rank
      } catch (const std::exception& error) {
        comm_.abort(std::string("agd::train::fit: evaluating the test set: ") + error.what());
      }
    }
    comm_.sum_on_host(sums);
    if (!std::isfinite(sums[0]))
      throw non_finite_error("agd::train::fit: the test loss is not finite on " +
                             (local_error.empty()
                                  ? std::string("another rank's share of the test set")
                                  : "rank " + std::to_string(comm_.rank()) +
                                        "'s share of the test set: " + local_error));
    return {sums[0] / double(samples), sums[1] / double(samples)};
  }

  /// Checks that every rank runs the same training: the network type, batch capacity, weights,
  /// optimiser, its options and its state, training and test sets, and the settings in
  /// `settings`. Throws std::invalid_argument on every rank, naming each difference and the
  /// ranks that have it, with their values where they can be shown ("the optimiser option lr
  /// (rank 0: 0.1, rank 1: 0.2)").
  template <class Opt>
  void check_same_run(const Opt& optimizer, const data::dataset& train, const data::dataset& test,
                      std::span<const detail::run_fact> settings) {
    std::vector<detail::run_fact> facts = network_facts(optimizer);
    const std::vector<detail::run_fact> options = detail::option_facts(optimizer);
    // The options are compared one by one only where every rank lists as many (the same
    // optimiser does); this count goes first, so that every rank knows.
    const std::size_t option_count_fact = facts.size();
    facts.push_back({"optimiser options", options.size()});
    facts.push_back(detail::make_fact("training set size", train.size()));
    facts.push_back({"training set", hash_dataset(train)});
    facts.push_back(detail::make_fact("test set size", test.size()));
    facts.push_back({"test set", hash_dataset(test)});
    facts.push_back(detail::make_fact("overlap", options_.overlap));
    facts.push_back(detail::make_fact("bucket bytes", options_.bucket_bytes));
    facts.insert(facts.end(), settings.begin(), settings.end());
    std::vector<bool> differs;
    std::string differences = describe_differences(facts, differs);
    if (!differs[option_count_fact] && !options.empty()) {
      std::vector<bool> ignored;
      const std::string option_differences =
          describe_differences(options, ignored, "optimiser option ");
      if (!option_differences.empty())
        differences += (differences.empty() ? "" : "; ") + option_differences;
    }
    if (!differences.empty())
      throw std::invalid_argument(
          "agd::train::fit: the " + std::to_string(comm_.size()) +
          " ranks are not running the same training; they differ in " + differences +
          ". Every rank must construct the same network (the same batch capacity), hold the same "
          "weights and optimiser state (the same seed, or the same checkpoint), use the same "
          "optimiser with the same options, and pass the same data and options to fit");
  }

  /// After each rank's own preparation (rank 0 opens the CSV file): if any rank failed, every
  /// rank throws, the failing ones their own error.
  void check_started(std::exception_ptr error) {
    const std::uint64_t failed = error ? 1 : 0;
    const std::vector<std::uint64_t> all = comm_.gather_on_host(std::span(&failed, 1));
    if (error) std::rethrow_exception(error);
    std::string ranks;
    for (std::size_t r = 0; r < all.size(); ++r)
      if (all[r]) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    if (!ranks.empty())
      throw std::runtime_error("agd::train::fit: rank " + ranks +
                               " could not start training (its own message says why); no rank "
                               "trained");
  }

  /// Runs `f`; an exception from it is this rank's alone (rank 0's I/O, a callback), so it stops
  /// every rank (communicator::abort) instead of leaving the others waiting for this one.
  template <class F>
  void on_this_rank_only(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& error) {
      comm_.abort(std::string(what) + ": " + error.what());
    }
  }

 private:
  static communicator& checked(communicator* comm) {
    if (!comm)
      throw std::invalid_argument("agd::distributed::data_parallel: no communicator given");
    return *comm;
  }

  void weight_gradient_done(std::size_t k) {
    if (next_bucket_ < buckets_.size() && k == buckets_[next_bucket_].first) {
      const bucket& b = buckets_[next_bucket_++];
      comm_.start_sum(net_.gradient_data() + Net::weight_offsets[b.first],
                      Net::weight_offsets[b.end] - Net::weight_offsets[b.first]);
    } else {
      comm_.progress();
    }
  }

  non_finite_error non_finite_loss(const std::string& local_error) const {
    const auto bits = std::uint64_t(figures_.data()[2]);
    std::string ranks;
    if (std::isfinite(figures_.data()[2]))
      for (std::size_t r = 0; r < std::min<std::size_t>(comm_.size(), 52); ++r)
        if (bits >> r & 1) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    if (ranks.empty()) ranks = "?";
    return non_finite_error("the loss on rank " + ranks + " of " + std::to_string(comm_.size()) +
                            " is not finite; no weight was changed on any rank" +
                            (local_error.empty() ? std::string(". ")
                                                 : " (rank " + std::to_string(comm_.rank()) + ": " +
                                                       local_error + ") ") +
                            "The network's output overflowed or the inputs are too large.");
  }

  /// Every rank's values of `facts` (the same facts, in the same order, on every rank): "the
  /// <prefix>X (rank 0: 64, rank 1: 32)" or "the <prefix>X (rank 1 differs from rank 0)" for each
  /// that differs, joined by "; ", and in `differs` which did. Collective: every rank must call
  /// it together.
  std::string describe_differences(const std::vector<detail::run_fact>& facts,
                                   std::vector<bool>& differs, const char* prefix = "") {
    using detail::fact_kind;
    // Two words per fact: its value, and its presence (an optional) or its length (a text).
    std::vector<std::uint64_t> mine;
    for (const auto& fact : facts) {
      mine.push_back(fact.value);
      mine.push_back(fact.kind == fact_kind::text ? fact.text.size() : fact.present ? 1 : 0);
    }
    const std::vector<std::uint64_t> all = comm_.gather_on_host(mine);
    const std::size_t words = mine.size(), ranks = comm_.size();
    const auto value = [&](std::size_t r, std::size_t f) { return all[r * words + 2 * f]; };
    const auto aux = [&](std::size_t r, std::size_t f) { return all[r * words + 2 * f + 1]; };
    differs.assign(facts.size(), false);
    // The texts of the text facts that differ, from every rank: a second exchange, which every
    // rank makes (each knows from `all` which texts differ and how long they are).
    std::vector<std::size_t> texts;
    std::size_t longest = 0;
    for (std::size_t f = 0; f < facts.size(); ++f) {
      for (std::size_t r = 1; r < ranks; ++r)
        differs[f] = differs[f] || value(r, f) != value(0, f) || aux(r, f) != aux(0, f);
      if (differs[f] && facts[f].kind == fact_kind::text) {
        texts.push_back(f);
        for (std::size_t r = 0; r < ranks; ++r) longest = std::max<std::size_t>(longest, aux(r, f));
      }
    }
    std::vector<std::vector<std::string>> text_of(facts.size());
    if (!texts.empty()) {
      const std::size_t text_words = (longest + 7) / 8;
      std::vector<std::uint64_t> packed(texts.size() * text_words, 0);
      for (std::size_t t = 0; t < texts.size(); ++t)
        std::memcpy(packed.data() + t * text_words, facts[texts[t]].text.data(),
                    facts[texts[t]].text.size());
      const std::vector<std::uint64_t> all_texts = comm_.gather_on_host(packed);
      for (std::size_t t = 0; t < texts.size(); ++t)
        for (std::size_t r = 0; r < ranks; ++r)
          text_of[texts[t]].emplace_back(
              reinterpret_cast<const char*>(all_texts.data() + (r * texts.size() + t) * text_words),
              aux(r, texts[t]));
    }
    std::string differences;
    for (std::size_t f = 0; f < facts.size(); ++f) {
      if (!differs[f]) continue;
      const auto& fact = facts[f];
      const auto shown = [&](std::size_t r) {
        return detail::fact_value_text(fact.kind, value(r, f), aux(r, f) != 0,
                                       text_of[f].empty() ? std::string() : text_of[f][r]);
      };
      std::string others;
      for (std::size_t r = 1; r < ranks; ++r) {
        if (value(r, f) == value(0, f) && aux(r, f) == aux(0, f)) continue;
        others += (others.empty() ? "rank " : ", rank ") + std::to_string(r);
        if (fact.kind != fact_kind::hash) others += ": " + shown(r);
      }
      differences +=
          std::string(differences.empty() ? "" : "; ") + "the " + prefix + fact.what + " (";
      if (fact.kind != fact_kind::hash)
        differences += "rank 0: " + shown(0) + ", " + others + ")";
      else
        differences += others + " differ" + (others.find(',') == std::string::npos ? "s" : "") +
                       " from rank 0)";
    }
    return differences;
  }

  template <class Opt>
  std::vector<detail::run_fact> network_facts(const Opt& optimizer) const {
    using Plain = std::remove_const_t<Opt>;
    std::string type = Net::summary();
    type += " scalar bytes " + std::to_string(sizeof(scalar_type));
    const std::vector<scalar_type> weights = net_.weights_to_host();
    std::uint64_t state = 0;
    std::vector<scalar_type> host(Net::parameter_count);
    for (const auto& tensor : optimizer.state_tensors()) {
      backend::download(net_.context(), tensor.data, Net::parameter_count, host.data());
      backend::synchronize(net_.context());
      state = detail::hash_bytes(host.data(), host.size() * sizeof(scalar_type), state + 1);
    }
    std::uint64_t steps = 0;
    if constexpr (Plain::steps_are_state) steps = optimizer.steps();
    return {{"network type", detail::hash_text(type)},
            detail::make_fact("batch capacity", net_.batch_capacity()),
            {"weights", detail::hash_bytes(weights.data(), weights.size() * sizeof(scalar_type))},
            detail::make_fact("optimiser", std::string(optimizer.name())),
            {"optimiser state", state},
            detail::make_fact("optimiser steps", steps)};
  }

  static std::uint64_t hash_dataset(const data::dataset& data) {
    const std::uint64_t inputs = detail::hash_bytes(
        data.inputs.data(), std::size_t(data.inputs.size()) * sizeof(*data.inputs.data()));
    return detail::hash_bytes(data.labels.data(), data.labels.size() * sizeof(std::int32_t),
                              inputs);
  }

  Net& net_;
  communicator& comm_;
  data_parallel_options options_;
  std::vector<bucket> buckets_;
  std::size_t next_bucket_ = 0;
  typename backend::template buffer<double> figures_;
  double last_wait_seconds_ = 0;
  bool stop_requested_ = false;
};

}  // namespace agd::distributed
