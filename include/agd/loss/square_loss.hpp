// The paper's square loss (Example 1): l(f, y) = 1/(2 d_L) ||f(x) - y||^2 with one-hot targets
// scaled to ||y||_2 = sqrt(d_L) (Prescription 1), averaged over the batch.
#pragma once

#include "agd/loss/loss.hpp"

namespace agd {

struct SquareLoss {
  static std::string name() { return "square"; }

  template <class S>
  static double value(const_matrix_ref<S> output, std::span<const std::int32_t> labels) {
    detail::check_loss_arguments<S>("SquareLoss", output, labels);
    return detail::sum_squared_error<S>(output, labels, nullptr) /
           (2.0 * double(output.rows()) * double(labels.size()));
  }
  /// d/df of the batch mean: (f - y) / (d_L n).
  template <class S>
  static double value_and_gradient(const_matrix_ref<S> output, std::span<const std::int32_t> labels,
                                   matrix_ref<S> gradient) {
    detail::check_loss_arguments<S>("SquareLoss", output, labels);
    const double n_dl = double(output.rows()) * double(labels.size());
    const double sum = detail::sum_squared_error<S>(output, labels, &gradient);
    gradient *= S(1.0 / n_dl);
    return sum / (2.0 * n_dl);
  }
};

}  // namespace agd
