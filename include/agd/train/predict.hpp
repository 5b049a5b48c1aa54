// Using a trained network: the class of each sample, the class probabilities of a network
// trained with cross-entropy, and the loss and accuracy on a labelled data set.
//
//   std::vector<std::int32_t> classes = agd::predict(net, test.inputs);    // or (net, test)
//   agd::matrix<float> p = agd::predict_probabilities(net, test.inputs);   // 10 x n, columns sum
//   to 1 agd::evaluation e = agd::evaluate(net, agd::CrossEntropyLoss{}, test); // e.loss,
//   e.accuracy
//
// Inputs are one sample per column, preprocessed as the training data was (a file written by
// agd::io::save_weights carries that preprocessing: agd::predict(net, saved.preprocessing(raw))).
// Any number of samples: they go through the network in chunks of its batch capacity. The
// weights are not changed; the network's activation buffers are overwritten. A NaN or Inf in
// the inputs, or finite inputs so large that an output overflows, throws non_finite_error
// naming the sample: a class or probability computed from such an output would be garbage.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "agd/core/errors.hpp"
#include "agd/core/matrix.hpp"
#include "agd/data/dataset.hpp"
#include "agd/loss/softmax.hpp"
#include "agd/train/fit.hpp"

namespace agd {

/// Loss and accuracy of a network on a whole labelled data set (agd::train::evaluate).
using train::evaluate;
using train::evaluation;

namespace detail {

/// Throws non_finite_error naming the first sample (a column of `outputs`, which start at
/// sample `first`) whose output is not finite.
template <class Outputs>
[[noreturn]] void throw_non_finite_output(const Outputs& outputs, Eigen::Index first,
                                          const char* function) {
  if (const auto at = first_non_finite(outputs))
    throw non_finite_error(
        std::string(function) + ": the output of the network for sample " +
        std::to_string(first + at->col) + " is " +
        std::to_string(double(outputs(at->row, at->col))) + " (output " + std::to_string(at->row) +
        " of " + std::to_string(outputs.rows()) +
        ") although its inputs are finite: they are so large that the network overflows (give "
        "it inputs preprocessed as its training data was; a file saved by "
        "agd::io::save_weights carries that preprocessing: saved.preprocessing(raw)), or "
        "the weights are not finite (load them again)");
  throw non_finite_error(std::string(function) + ": the network's outputs are not finite");
}

/// Runs `inputs` through `net` chunk by chunk and calls use(first_column, outputs) for each
/// chunk's d_L x n outputs, a column-major matrix in host memory: the output buffer itself on the
/// CPU, a download of it on a device backend (whose batches go up through upload, never through
/// host pointers into device memory).
template <class Net, class Derived, class Use>
void predict_in_chunks(Net& net, const Eigen::MatrixBase<Derived>& inputs, const char* function,
                       Use use) {
  using S = typename Net::scalar_type;
  using backend = typename Net::backend_type;
  if (static_cast<std::size_t>(inputs.rows()) != Net::input_size)
    throw std::invalid_argument(std::string(function) + ": the inputs have " +
                                std::to_string(inputs.rows()) + " rows but the network takes " +
                                std::to_string(Net::input_size) +
                                " inputs per sample (one sample per column)");
  if (const auto at = first_non_finite(inputs))
    throw non_finite_error(std::string(function) + ": input " + std::to_string(at->row) +
                           " of sample " + std::to_string(at->col) + " is " +
                           std::to_string(double(inputs(at->row, at->col))) +
                           "; check the data and its preprocessing");
  const auto chunk = static_cast<Eigen::Index>(net.batch_capacity());
  // Finite inputs can still overflow the network (inputs far larger than those it was trained
  // on); an inf or NaN output would otherwise become class 0 and NaN probabilities.
  const auto use_finite = [&](Eigen::Index first, const auto& outputs) {
    if (!outputs.allFinite()) throw_non_finite_output(outputs, first, function);
    use(first, outputs);
  };
  [[maybe_unused]] matrix<S> staged;
  for (Eigen::Index first = 0; first < inputs.cols(); first += chunk) {
    const Eigen::Index n = std::min(chunk, inputs.cols() - first);
    if constexpr (backend::host_memory) {
      net.input_buffer().leftCols(n) = inputs.middleCols(first, n).template cast<S>();
      use_finite(first, net.forward_batch(static_cast<std::size_t>(n)));
    } else {
      staged = inputs.middleCols(first, n).template cast<S>();
      backend::upload(net.context(), staged.data(), static_cast<std::size_t>(staged.size()),
                      net.input_buffer().data);
      net.forward_batch(static_cast<std::size_t>(n));
      use_finite(first, net.output_to_host());
    }
  }
}

}  // namespace detail

/// The class of each sample (column) of `inputs`: the index of its largest output (ties go to
/// the lowest index, as in the accuracy fit reports).
template <class Net, class Derived>
std::vector<std::int32_t> predict(Net& net, const Eigen::MatrixBase<Derived>& inputs) {
  std::vector<std::int32_t> classes(static_cast<std::size_t>(inputs.cols()));
  detail::predict_in_chunks(net, inputs, "agd::predict",
                            [&](Eigen::Index first, const auto& outputs) {
                              for (Eigen::Index j = 0; j < outputs.cols(); ++j)
                                classes[static_cast<std::size_t>(first + j)] =
                                    predicted_class(outputs.col(j).data(), Net::output_size);
                            });
  return classes;
}

/// The class of each sample of a data set (its labels are not used).
template <class Net>
std::vector<std::int32_t> predict(Net& net, const data::dataset& data) {
  return predict(net, data.inputs);
}

/// The probability of each class for each sample: the softmax of each output column, d_L x n.
/// These are the model's probabilities for a network trained with agd::CrossEntropyLoss, whose
/// outputs are log-probabilities up to a constant; for the square losses the outputs are
/// scores aimed at sqrt(d_L) * onehot, and their softmax is no calibrated probability.
template <class Net, class Derived>
matrix<typename Net::scalar_type> predict_probabilities(Net& net,
                                                        const Eigen::MatrixBase<Derived>& inputs) {
  using S = typename Net::scalar_type;
  matrix<S> probabilities(static_cast<Eigen::Index>(Net::output_size), inputs.cols());
  detail::predict_in_chunks(
      net, inputs, "agd::predict_probabilities", [&](Eigen::Index first, const auto& outputs) {
        for (Eigen::Index j = 0; j < outputs.cols(); ++j)
          softmax(outputs.col(j).data(), Net::output_size, probabilities.col(first + j).data());
      });
  return probabilities;
}

/// The class probabilities of each sample of a data set.
template <class Net>
matrix<typename Net::scalar_type> predict_probabilities(Net& net, const data::dataset& data) {
  return predict_probabilities(net, data.inputs);
}

}  // namespace agd
