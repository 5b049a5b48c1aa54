// The official AGD code's square loss: `F.mse_loss(output, onehot * sqrt(d_L))`, the mean over
// batch *and* classes of (f - y)^2 with no 1/2. It is the paper's SquareLoss times 2, so its
// gradient, G and hence eta are twice as large for the same network.
#pragma once

#include "agd/loss/loss.hpp"

namespace agd {

struct MSELoss : loss_base<MSELoss> {
  static constexpr const char* display_name = "MSELoss";
  static std::string name() { return "mse"; }

  /// ||f - y||^2 / d_L for one sample; the gradient of the batch mean is 2 (f - y) / (d_L n).
  template <class S>
  AGD_HOST_DEVICE static double sample_loss(const S* f, std::int32_t label, std::size_t classes,
                                            S* gradient, S scale) {
    return detail::squared_error(f, label, classes, gradient, S(2) * scale / S(classes)) /
           double(classes);
  }
};

}  // namespace agd
