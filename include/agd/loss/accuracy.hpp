// Classification accuracy: the fraction of columns whose largest output is the label.
#pragma once

#include <cstdint>
#include <span>

#include "agd/core/matrix.hpp"

namespace agd {

/// The number of samples whose arg-max output equals the label (ties go to the lowest index).
template <class S>
std::size_t count_correct(const_matrix_ref<S> output, std::span<const std::int32_t> labels) {
  std::size_t correct = 0;
  for (Eigen::Index j = 0; j < output.cols(); ++j) {
    Eigen::Index predicted = 0;
    output.col(j).maxCoeff(&predicted);
    correct += predicted == labels[std::size_t(j)];
  }
  return correct;
}

}  // namespace agd
