// The loss concept. A loss maps the network's d_L x n output and n integer class labels to the
// batch mean of a per-sample loss, and writes dLoss/dOutput (including the 1/n of the mean)
// into a d_L x n buffer, which is what the network's backward() consumes.
//
// A loss is written once, per sample (one column of the output), as a function both backends
// call (AGD_HOST_DEVICE):
//   template <class S> static double sample_loss(const S* f, std::int32_t label,
//                                                std::size_t classes, S* gradient, S scale);
// returns the sample's loss and, when `gradient` is not null, writes scale * d(loss)/df there.
// The batch mean and its gradient follow with scale = 1/n (loss/evaluate.hpp runs it on any
// backend; value() and value_and_gradient() below on Eigen matrices in host memory).
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "agd/core/host_device.hpp"
#include "agd/core/matrix.hpp"

namespace agd {

template <class L, class S>
concept LossFor = requires(const S* f, std::int32_t label, std::size_t classes, S* gradient) {
  { L::template sample_loss<S>(f, label, classes, gradient, S(1)) } -> std::convertible_to<double>;
  { L::name() } -> std::convertible_to<std::string>;
};

namespace detail {

/// "RxC" for a message.
inline std::string shape_text(long long rows, long long cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

/// "agd::MSELoss::value" for a message (built only when one is thrown, so that a call that
/// succeeds allocates nothing).
inline std::string loss_function_name(const char* loss, const char* member) {
  return std::string("agd::") + loss + "::" + member;
}

/// Checks what a loss's value() or value_and_gradient() is given, before anything is read or
/// written: one label per output column, at least one sample (the mean divides by n), every
/// label a class of the output. `loss` and `member` name the function, e.g. MSELoss and value.
template <class S>
void check_loss_arguments(const char* loss, const char* member, const_matrix_ref<S> output,
                          std::span<const std::int32_t> labels) {
  const auto function = [&] { return loss_function_name(loss, member); };
  const auto output_shape = [&] { return shape_text(output.rows(), output.cols()); };
  if (static_cast<std::size_t>(output.cols()) != labels.size())
    throw std::invalid_argument(function() + ": the output is " + output_shape() + " (" +
                                std::to_string(output.cols()) + " samples, one per column) but " +
                                std::to_string(labels.size()) +
                                " labels were given; give one label per sample");
  if (labels.empty())
    throw std::invalid_argument(function() + ": the output is " + output_shape() +
                                ": no samples, and the batch mean needs at least one");
  for (std::size_t j = 0; j < labels.size(); ++j)
    if (labels[j] < 0 || labels[j] >= output.rows())
      throw std::invalid_argument(function() + ": label " + std::to_string(labels[j]) +
                                  " of sample " + std::to_string(j) + " is outside [0, " +
                                  std::to_string(output.rows()) + ") (the output is " +
                                  output_shape() + ", one row per class)");
}

/// Checks that the gradient a loss writes into has the output's shape: a smaller matrix would be
/// written past its end.
template <class S>
void check_gradient_shape(const char* loss, const char* member, const_matrix_ref<S> output,
                          const matrix_ref<S>& gradient) {
  if (gradient.rows() != output.rows() || gradient.cols() != output.cols())
    throw std::invalid_argument(loss_function_name(loss, member) + ": the gradient is " +
                                shape_text(gradient.rows(), gradient.cols()) +
                                " but the output is " + shape_text(output.rows(), output.cols()) +
                                "; pass a gradient of the output's shape (d_L x n, e.g. "
                                "net.output_gradient()), nothing was written");
}

/// ||f - y||^2 for one sample with y = sqrt(d_L) * onehot(label), the target scaling of
/// Prescription 1 (||y||_2 = sqrt(d_L)). With `gradient`, writes factor * (f - y) there.
template <class S>
AGD_HOST_DEVICE double squared_error(const S* f, std::int32_t label, std::size_t classes,
                                     S* gradient, S factor) {
  const S target = math::sqrt(S(classes));
  double sum = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    const S residual = f[c] - (std::int32_t(c) == label ? target : S(0));
    sum += double(residual) * double(residual);
    if (gradient) gradient[c] = factor * residual;
  }
  return sum;
}

/// The batch mean of L's sample losses over the columns of `output` (host memory), with the
/// gradient written into `gradient` when it is not null.
template <class L, class S>
double batch_loss(const_matrix_ref<S> output, std::span<const std::int32_t> labels,
                  matrix_ref<S>* gradient) {
  const auto classes = std::size_t(output.rows());
  const S inverse_n = S(1) / S(labels.size());
  double total = 0;
  for (Eigen::Index j = 0; j < output.cols(); ++j)
    total += L::template sample_loss<S>(output.col(j).data(), labels[std::size_t(j)], classes,
                                        gradient ? gradient->col(j).data() : nullptr, inverse_n);
  return total / double(labels.size());
}

}  // namespace detail

/// The Eigen-facing side every loss shares: value() and value_and_gradient() on host matrices,
/// with the labels checked against the output.
template <class Derived>
struct loss_base {
  /// The batch mean of the loss over the columns of `output` (d_L x n), one label per column.
  template <class S>
  static double value(const_matrix_ref<S> output, std::span<const std::int32_t> labels) {
    detail::check_loss_arguments<S>(Derived::display_name, "value", output, labels);
    return detail::batch_loss<Derived, S>(output, labels, nullptr);
  }
  /// The batch mean, and its gradient with respect to `output` written into `gradient`, which
  /// must have the output's shape.
  template <class S>
  static double value_and_gradient(const_matrix_ref<S> output, std::span<const std::int32_t> labels,
                                   matrix_ref<S> gradient) {
    detail::check_loss_arguments<S>(Derived::display_name, "value_and_gradient", output, labels);
    detail::check_gradient_shape<S>(Derived::display_name, "value_and_gradient", output, gradient);
    return detail::batch_loss<Derived, S>(output, labels, &gradient);
  }
};

}  // namespace agd
