// The official AGD code's square loss: `F.mse_loss(output, onehot * sqrt(d_L))`, the mean over
// batch *and* classes of (f - y)^2 with no 1/2. It is the paper's SquareLoss times 2, so its
// gradient, G and hence eta are twice as large for the same network.
#pragma once

#include "agd/loss/loss.hpp"

namespace agd {

struct MSELoss {
  static std::string name() { return "mse"; }

  template <class S>
  static double value(const_matrix_ref<S> output, std::span<const std::int32_t> labels) {
    detail::check_loss_arguments<S>("MSELoss", output, labels);
    return detail::sum_squared_error<S>(output, labels, nullptr) /
           (double(output.rows()) * double(labels.size()));
  }
  /// d/df of the mean: 2 (f - y) / (d_L n).
  template <class S>
  static double value_and_gradient(const_matrix_ref<S> output, std::span<const std::int32_t> labels,
                                   matrix_ref<S> gradient) {
    detail::check_loss_arguments<S>("MSELoss", output, labels);
    const double n_dl = double(output.rows()) * double(labels.size());
    const double sum = detail::sum_squared_error<S>(output, labels, &gradient);
    gradient *= S(2.0 / n_dl);
    return sum / n_dl;
  }
};

}  // namespace agd
