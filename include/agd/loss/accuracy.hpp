// Classification accuracy: the fraction of columns whose largest output is the label.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "agd/core/matrix.hpp"
#include "agd/loss/softmax.hpp"

namespace agd {

/// The number of samples (columns of `output`, d_L x n) whose arg-max output equals the label;
/// one label per column.
template <class S>
std::size_t count_correct(const_matrix_ref<S> output, std::span<const std::int32_t> labels) {
  // A shorter label span would be read past its end.
  if (static_cast<std::size_t>(output.cols()) != labels.size())
    throw std::invalid_argument(
        "agd::count_correct: the output is " + std::to_string(output.rows()) + "x" +
        std::to_string(output.cols()) + " (" + std::to_string(output.cols()) +
        " samples, one per column) but " + std::to_string(labels.size()) +
        " labels were given; give one label per sample");
  std::size_t correct = 0;
  for (Eigen::Index j = 0; j < output.cols(); ++j)
    correct +=
        predicted_class(output.col(j).data(), std::size_t(output.rows())) == labels[std::size_t(j)];
  return correct;
}

}  // namespace agd
