// Cross-entropy (the paper's Example 2): l(f, y) = -log softmax(f)_label, through a log-softmax
// that subtracts the column maximum first so exp never overflows.
#pragma once

#include "agd/loss/loss.hpp"
#include "agd/loss/softmax.hpp"

namespace agd {

struct CrossEntropyLoss : loss_base<CrossEntropyLoss> {
  static constexpr const char* display_name = "CrossEntropyLoss";
  static std::string name() { return "xent"; }

  /// log sum_c exp(f_c) - f_label for one sample; the gradient of the batch mean is
  /// (softmax(f) - onehot) / n.
  template <class S>
  AGD_HOST_DEVICE static double sample_loss(const S* f, std::int32_t label, std::size_t classes,
                                            S* gradient, S scale) {
    if (!gradient) return log_sum_exp(f, classes) - double(f[label]);
    const double lse = softmax(f, classes, gradient);
    for (std::size_t c = 0; c < classes; ++c) gradient[c] *= scale;
    gradient[label] -= scale;
    return lse - double(f[label]);
  }
};

}  // namespace agd
