// The paper's square loss (Example 1): l(f, y) = 1/(2 d_L) ||f(x) - y||^2 with one-hot targets
// scaled to ||y||_2 = sqrt(d_L) (Prescription 1), averaged over the batch.
#pragma once

#include "agd/loss/loss.hpp"

namespace agd {

struct SquareLoss : loss_base<SquareLoss> {
  static constexpr const char* display_name = "SquareLoss";
  static std::string name() { return "square"; }

  /// ||f - y||^2 / (2 d_L) for one sample; the gradient of the batch mean is (f - y) / (d_L n).
  template <class S>
  AGD_HOST_DEVICE static double sample_loss(const S* f, std::int32_t label, std::size_t classes,
                                            S* gradient, S scale) {
    return detail::squared_error(f, label, classes, gradient, scale / S(classes)) /
           (2.0 * double(classes));
  }
};

}  // namespace agd
