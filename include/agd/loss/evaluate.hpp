// A loss, and the accuracy, of the network's last forward pass on any backend: the per-sample
// functions of the loss (loss/loss.hpp) over the columns of the output, then one sum, in the
// backend's memory. The labels are in backend memory too (the network's label_buffer(), where
// train::fit gathers a batch's labels); on CUDA nothing is copied to the host until a result is
// read. A non-finite loss marks the step failed (core/status.hpp): the CPU backend throws at
// once, the CUDA backend when the result is read, and no weight changes either way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "agd/core/host_device.hpp"
#include "agd/core/status.hpp"
#include "agd/loss/accuracy.hpp"
#include "agd/loss/loss.hpp"

namespace agd {

namespace detail {

template <class Loss, class S>
struct sample_loss_pass {
  const S* output;
  const std::int32_t* labels;
  S* gradient;  // null: the loss only
  std::size_t classes;
  S scale;
  double* per_sample;
  AGD_HOST_DEVICE void operator()(std::size_t j) const {
    per_sample[j] =
        Loss::template sample_loss<S>(output + j * classes, labels[j], classes,
                                      gradient ? gradient + j * classes : nullptr, scale);
  }
};

template <class S>
struct correct_prediction_pass {
  const S* output;
  const std::int32_t* labels;
  std::size_t classes;
  double* per_sample;
  AGD_HOST_DEVICE void operator()(std::size_t j) const {
    per_sample[j] = predicted_class(output + j * classes, classes) == labels[j] ? 1.0 : 0.0;
  }
};

struct array_entry {
  const double* values;
  AGD_HOST_DEVICE double operator()(std::size_t, std::size_t i) const { return values[i]; }
};

/// The batch mean from the sum, and the step marked failed if it is not finite.
struct finish_batch_loss {
  double* loss;
  double samples;
  execution_status* status;
  AGD_HOST_DEVICE void operator()() const {
    *loss /= samples;
    if (!math::is_finite(*loss) && status->code == status_code::ok) {
      status->code = status_code::non_finite_loss;
      status->value = *loss;
    }
  }
};

/// Checks what batch_loss and batch_correct are given, on the host before anything runs: a
/// forward pass to read (its n samples are what the labels must cover) and labels to read.
/// `function` is e.g. "agd::batch_loss<mse>" (built only for a message).
template <class Function>
void check_batch_arguments(const Function& function, std::size_t samples, std::size_t output_size,
                           const std::int32_t* labels) {
  if (samples == 0)
    throw std::logic_error(function() + ": the network's output is " + std::to_string(output_size) +
                           "x0: no forward pass to take the loss of; run forward_batch(n) "
                           "(or forward) first");
  if (labels == nullptr)
    throw std::invalid_argument(function() + ": the labels are a null pointer; pass the " +
                                std::to_string(samples) +
                                " labels of the batch in the backend's memory (e.g. "
                                "net.label_buffer())");
}

}  // namespace detail

/// The batch mean of Loss over the last forward pass, with the labels at `labels` (backend
/// memory); with `gradient`, dLoss/dOutput is written into the network's output gradient for
/// backward(). Returns the loss as the backend gives results (the value on the CPU).
/// `mean_over` (0: the batch's size) is the number of samples the mean divides by: a rank of a
/// data-parallel step passes the global batch, so that the sums over the ranks of its loss and
/// gradients are the global batch's mean and its gradient (distributed/data_parallel.hpp).
template <class Loss, class Net>
auto batch_loss(Net& net, const std::int32_t* labels, bool gradient = true,
                std::size_t mean_over = 0) {
  using backend = typename Net::backend_type;
  using S = typename Net::scalar_type;
  auto& context = net.context();
  const std::size_t n = net.batch_size();
  const auto function = [] { return "agd::batch_loss<" + std::string(Loss::name()) + ">"; };
  detail::check_batch_arguments(function, n, Net::output_size, labels);
  // A mean over fewer samples than the batch holds is no mean of it: a rank's share of a
  // global batch is at most the global batch.
  if (mean_over != 0 && mean_over < n)
    throw std::invalid_argument(function() + ": mean_over is " + std::to_string(mean_over) +
                                " but the network's output is " + std::to_string(Net::output_size) +
                                "x" + std::to_string(n) + " (" + std::to_string(n) +
                                " samples); pass 0 (this batch) or the global batch it is a share "
                                "of");
  const std::size_t divisor = mean_over ? mean_over : n;
  double* slots = net.result_slots();
  backend::local_for_each(
      context, n,
      detail::sample_loss_pass<Loss, S>{
          net.activation_view(Net::layer_count).data, labels,
          gradient ? net.activation_gradient_view(Net::layer_count).data : nullptr,
          Net::output_size, S(1) / S(divisor), net.per_sample_scratch()});
  backend::local_segmented_sum(context, 1, n, detail::array_entry{net.per_sample_scratch()}, slots);
  backend::single(
      context, detail::finish_batch_loss{slots, double(divisor), backend::status_pointer(context)});
  if constexpr (!backend::asynchronous) net.check_status("", Loss::name());
  return backend::read_result(context, static_cast<const double*>(slots));
}

/// How many samples of the last forward pass have their label as the largest output (as a
/// double in backend memory, read like any result).
template <class Net>
auto batch_correct(Net& net, const std::int32_t* labels) {
  using backend = typename Net::backend_type;
  using S = typename Net::scalar_type;
  auto& context = net.context();
  const std::size_t n = net.batch_size();
  detail::check_batch_arguments([] { return std::string("agd::batch_correct"); }, n,
                                Net::output_size, labels);
  double* slots = net.result_slots();
  backend::local_for_each(
      context, n,
      detail::correct_prediction_pass<S>{net.activation_view(Net::layer_count).data, labels,
                                         Net::output_size, net.per_sample_scratch()});
  backend::local_segmented_sum(context, 1, n, detail::array_entry{net.per_sample_scratch()},
                               slots + 1);
  return backend::read_result(context, static_cast<const double*>(slots + 1));
}

}  // namespace agd
