// One training step and one evaluation pass of a network, the pieces that train::fit's step
// strategies (train/step_strategy.hpp) and a custom loop are made of: train_step (forward,
// loss, backward, optimiser) on a batch in the network's buffers, evaluate over a data set in
// chunks, and the per-step sums that fit keeps where the step runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>

#include "agd/core/errors.hpp"
#include "agd/core/host_device.hpp"
#include "agd/core/matrix.hpp"
#include "agd/core/result.hpp"
#include "agd/data/dataset.hpp"
#include "agd/loss/accuracy.hpp"
#include "agd/loss/evaluate.hpp"
#include "agd/loss/loss.hpp"
#include "agd/train/batch_loader.hpp"

namespace agd::train {

struct evaluation {
  double loss = 0;
  double accuracy = 0;
};

namespace detail {
/// evaluate_with's running sums (loss x samples, correct predictions) in the result slots after
/// the batch's own two, where the chunks run.
struct start_evaluation_sums {
  double* sums;
  AGD_HOST_DEVICE void operator()() const { sums[0] = sums[1] = 0; }
};
struct add_evaluation_chunk {
  double* slots;  // the chunk's mean loss and correct predictions, then the sums
  double samples;
  AGD_HOST_DEVICE void operator()() const {
    slots[2] += slots[0] * samples;
    slots[3] += slots[1];
  }
};
}  // namespace detail

/// Loss and accuracy of `net` on a whole data set (or its `samples` samples from `from` on), in
/// chunks of the network's batch capacity, through a loader that has the data where the network
/// runs. The sums stay where the network runs and are read once, at the end (on CUDA, the one
/// wait of the whole evaluation).
template <class Loss, class Net, class Loader>
evaluation evaluate_with(Net& net, Loader& loader, std::size_t samples, std::size_t from = 0) {
  using backend = typename Net::backend_type;
  auto& context = net.context();
  double* const slots = net.result_slots();
  backend::single(context, detail::start_evaluation_sums{slots + 2});
  const std::size_t chunk = net.batch_capacity();
  for (std::size_t first = 0; first < samples; first += chunk) {
    const std::size_t n = std::min(chunk, samples - first);
    loader.load_range(from + first, n);
    net.forward_batch(n);
    agd::batch_loss<Loss>(net, net.label_buffer(), false);
    agd::batch_correct(net, net.label_buffer());
    backend::single(context, detail::add_evaluation_chunk{slots, double(n)});
  }
  const auto [loss_sum, correct] =
      agd::read(backend::template read_results<2>(context, static_cast<const double*>(slots + 2)));
  return {loss_sum / double(samples), correct / double(samples)};
}

/// Loss and accuracy of `net` on a whole data set, in chunks of the network's batch capacity.
template <class Net, class Loss>
evaluation evaluate(Net& net, Loss, const data::dataset& data) {
  static_assert(LossFor<Loss, typename Net::scalar_type>,
                "agd::train::evaluate: the loss does not model agd::LossFor");
  train::check_dataset<Net>(data, "agd::train::evaluate", "data set");
  batch_loader<Net> loader(net, data);
  return train::evaluate_with<Loss>(net, loader, data.size());
}

/// One training step on the batch in the network's input and label buffers (their first n
/// columns and entries): forward, loss, backward, optimiser. Returns the loss before the step as
/// the backend gives results (the value on the CPU; on CUDA a value read only when used). A NaN
/// or Inf in the loss or a gradient stops the step before any weight changes
/// (agd::non_finite_error; on CUDA when a result is next read).
template <class Loss, class Net, class Opt>
auto train_step(Net& net, Opt& optimizer, std::size_t n) {
  net.forward_batch(n);
  auto loss = agd::batch_loss<Loss>(net, net.label_buffer(), true);
  net.backward();
  optimizer.step();
  return loss;
}

/// One training step on the first n columns of the network's input buffer with the n labels
/// given on the host (a CPU network). The batch is checked first: a NaN or Inf in it throws
/// agd::non_finite_error naming the sample, and a label out of range std::invalid_argument.
template <class Loss, class Net, class Opt>
requires(Net::backend_type::host_memory) double train_step(Net& net, Opt& optimizer,
                                                           std::span<const std::int32_t> labels) {
  const auto n = static_cast<Eigen::Index>(labels.size());
  if (labels.empty() || labels.size() > net.batch_capacity())
    throw std::invalid_argument(
        "agd::train::train_step: a batch of " + std::to_string(labels.size()) +
        " labels does not fit the batch capacity " + std::to_string(net.batch_capacity()));
  auto inputs = net.input_buffer().leftCols(n);
  if (const auto at = first_non_finite(inputs))
    throw non_finite_error("agd::train::train_step: input " + std::to_string(at->row) +
                           " of sample " + std::to_string(at->col) + " in the batch is " +
                           std::to_string(inputs(at->row, at->col)) +
                           "; no weight was changed. Check the data and its preprocessing.");
  for (std::size_t j = 0; j < labels.size(); ++j)
    if (labels[j] < 0 || std::size_t(labels[j]) >= Net::output_size)
      throw std::invalid_argument("agd::train::train_step: label " + std::to_string(labels[j]) +
                                  " of sample " + std::to_string(j) + " is outside [0, " +
                                  std::to_string(Net::output_size) + ")");
  std::copy(labels.begin(), labels.end(), net.label_buffer());
  try {
    return train::train_step<Loss>(net, optimizer, labels.size());
  } catch (const non_finite_error& error) {
    throw non_finite_error(std::string("agd::train::train_step: ") + error.what());
  }
}

/// What fit sums over the steps of an epoch, where the steps run.
struct training_sums {
  double loss_sum = 0, eta_sum = 0;
  double min_eta = std::numeric_limits<double>::infinity();
  double max_eta = -std::numeric_limits<double>::infinity();
  double correct = 0, seen = 0;
  double last_loss = 0, last_eta = 0;
};

namespace detail {
/// Adds one step's figures to the sums (run once per step, where the step ran).
struct accumulate_step {
  training_sums* sums;
  const double* loss;
  const double* eta;
  const double* correct;
  double samples;
  AGD_HOST_DEVICE void operator()() const {
    sums->loss_sum += *loss;
    sums->eta_sum += *eta;
    sums->min_eta = *eta < sums->min_eta ? *eta : sums->min_eta;
    sums->max_eta = *eta > sums->max_eta ? *eta : sums->max_eta;
    sums->correct += *correct;
    sums->seen += samples;
    sums->last_loss = *loss;
    sums->last_eta = *eta;
  }
};
}  // namespace detail

}  // namespace agd::train
