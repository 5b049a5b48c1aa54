// The loss concept. A loss maps the network's d_L x n output and n integer class labels to the
// batch mean of a per-sample loss, and writes dLoss/dOutput (including the 1/n of the mean)
// into a d_L x n buffer, which is what agd::Sequential::backward() consumes.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "agd/core/matrix.hpp"

namespace agd {

template <class L, class S>
concept LossFor = requires(const_matrix_ref<S> out, std::span<const std::int32_t> labels,
                           matrix_ref<S> grad) {
  { L::value(out, labels) } -> std::convertible_to<double>;
  { L::value_and_gradient(out, labels, grad) } -> std::convertible_to<double>;
  { L::name() } -> std::convertible_to<std::string>;
};

namespace detail {
template <class S>
void check_loss_arguments(const char* loss, const_matrix_ref<S> output,
                          std::span<const std::int32_t> labels) {
  if (static_cast<std::size_t>(output.cols()) != labels.size())
    throw std::invalid_argument(std::string("agd::") + loss + ": the output has " +
                                std::to_string(output.cols()) + " samples (columns) but " +
                                std::to_string(labels.size()) + " labels were given");
  for (std::size_t j = 0; j < labels.size(); ++j)
    if (labels[j] < 0 || labels[j] >= output.rows())
      throw std::invalid_argument(
          std::string("agd::") + loss + ": label " + std::to_string(labels[j]) + " of sample " +
          std::to_string(j) + " is outside [0, " + std::to_string(output.rows()) +
          ") (the network has " + std::to_string(output.rows()) + " outputs)");
}

/// Sum over the batch of ||f(x_j) - y_j||^2 with y_j = sqrt(d_L) * onehot(label_j), the target
/// scaling of Prescription 1 (||y||_2 = sqrt(d_L)). If `gradient` is given it receives f - y.
template <class S>
double sum_squared_error(const_matrix_ref<S> output, std::span<const std::int32_t> labels,
                         matrix_ref<S>* residual) {
  const S target = std::sqrt(S(output.rows()));
  if (residual) {
    *residual = output;
    for (std::size_t j = 0; j < labels.size(); ++j)
      (*residual)(labels[j], static_cast<Eigen::Index>(j)) -= target;
    return static_cast<double>(residual->squaredNorm());
  }
  // ||f - t e_l||^2 = ||f||^2 - 2 t f_l + t^2, without a temporary.
  double total = static_cast<double>(output.squaredNorm());
  for (std::size_t j = 0; j < labels.size(); ++j)
    total += -2.0 * double(target) * double(output(labels[j], static_cast<Eigen::Index>(j))) +
             double(target) * double(target);
  return total;
}
}  // namespace detail

}  // namespace agd
