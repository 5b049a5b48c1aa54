// Cross-entropy (the paper's Example 2): l(f, y) = -log softmax(f)_label, through a log-softmax
// that subtracts the column maximum first so exp never overflows.
#pragma once

#include <cmath>

#include "agd/loss/loss.hpp"

namespace agd {

struct CrossEntropyLoss {
  static std::string name() { return "xent"; }

  template <class S>
  static double value(const_matrix_ref<S> output, std::span<const std::int32_t> labels) {
    detail::check_loss_arguments<S>("CrossEntropyLoss", output, labels);
    double total = 0;
    for (Eigen::Index j = 0; j < output.cols(); ++j)
      total += log_sum_exp<S>(output.col(j)) - double(output(labels[std::size_t(j)], j));
    return total / double(labels.size());
  }
  /// d/df of the batch mean: (softmax(f) - onehot) / n.
  template <class S>
  static double value_and_gradient(const_matrix_ref<S> output, std::span<const std::int32_t> labels,
                                   matrix_ref<S> gradient) {
    detail::check_loss_arguments<S>("CrossEntropyLoss", output, labels);
    const S inverse_n = S(1) / S(labels.size());
    double total = 0;
    for (Eigen::Index j = 0; j < output.cols(); ++j) {
      const double lse = log_sum_exp<S>(output.col(j));
      const std::int32_t label = labels[std::size_t(j)];
      total += lse - double(output(label, j));
      gradient.col(j) = (output.col(j).array() - S(lse)).exp() * inverse_n;
      gradient(label, j) -= inverse_n;
    }
    return total / double(labels.size());
  }

 private:
  template <class S, class Column>
  static double log_sum_exp(const Column& column) {
    const S max = column.maxCoeff();
    return double(max) + std::log(double((column.array() - max).exp().sum()));
  }
};

}  // namespace agd
