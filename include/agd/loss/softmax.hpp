// The class maths of one sample's output column, written once for every backend and every
// caller: the arg-max (accuracy, agd::predict), log-sum-exp (cross-entropy) and the softmax
// (agd::predict_probabilities). Each takes the d_L outputs of one sample, contiguous, in the
// memory of whoever calls it (a device kernel, or the host after a download).
#pragma once

#include <cstddef>
#include <cstdint>

#include "agd/core/host_device.hpp"

namespace agd {

/// The class with the largest output of one sample (ties go to the lowest index).
template <class S>
AGD_HOST_DEVICE std::int32_t predicted_class(const S* f, std::size_t classes) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < classes; ++c)
    if (f[c] > f[best]) best = c;
  return std::int32_t(best);
}

/// log sum_c exp(f_c), in double, from the maximum so that exp never overflows.
template <class S>
AGD_HOST_DEVICE double log_sum_exp(const S* f, std::size_t classes) {
  const S max = f[predicted_class(f, classes)];
  double sum = 0;
  for (std::size_t c = 0; c < classes; ++c) sum += math::exp(double(f[c] - max));
  return double(max) + math::log(sum);
}

/// p = softmax(f) of one sample: the class probabilities of a network trained with
/// cross-entropy (whose outputs are log-probabilities up to a constant). Returns log-sum-exp,
/// which cross-entropy needs as well.
template <class S>
AGD_HOST_DEVICE double softmax(const S* f, std::size_t classes, S* p) {
  const double lse = log_sum_exp(f, classes);
  for (std::size_t c = 0; c < classes; ++c) p[c] = S(math::exp(double(f[c]) - lse));
  return lse;
}

}  // namespace agd
