// Cross-entropy (the paper's Example 2): l(f, y) = -log softmax(f)_label, through a log-softmax
// that subtracts the column maximum first so exp never overflows.
#pragma once

#include "agd/loss/loss.hpp"

namespace agd {

struct CrossEntropyLoss : loss_base<CrossEntropyLoss> {
  static constexpr const char* display_name = "CrossEntropyLoss";
  static std::string name() { return "xent"; }

  /// log sum_c exp(f_c) - f_label for one sample; the gradient of the batch mean is
  /// (softmax(f) - onehot) / n.
  template <class S>
  AGD_HOST_DEVICE static double sample_loss(const S* f, std::int32_t label, std::size_t classes,
                                            S* gradient, S scale) {
    const double lse = log_sum_exp(f, classes);
    if (gradient) {
      for (std::size_t c = 0; c < classes; ++c)
        gradient[c] = S(math::exp(double(f[c]) - lse)) * scale;
      gradient[label] -= scale;
    }
    return lse - double(f[label]);
  }
  /// log sum_c exp(f_c), computed from the maximum so that exp never overflows.
  template <class S>
  AGD_HOST_DEVICE static double log_sum_exp(const S* f, std::size_t classes) {
    S max = f[0];
    for (std::size_t c = 1; c < classes; ++c) max = f[c] > max ? f[c] : max;
    double sum = 0;
    for (std::size_t c = 0; c < classes; ++c) sum += math::exp(double(f[c] - max));
    return double(max) + math::log(sum);
  }
  /// softmax(f) of one sample, for predictions.
  template <class S>
  AGD_HOST_DEVICE static void probabilities(const S* f, std::size_t classes, S* p) {
    const double lse = log_sum_exp(f, classes);
    for (std::size_t c = 0; c < classes; ++c) p[c] = S(math::exp(double(f[c]) - lse));
  }
};

}  // namespace agd
