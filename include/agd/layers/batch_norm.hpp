// BatchNorm: per-channel normalisation by the statistics of the batch, with no affine parameters
// and no running averages, i.e. PyTorch's BatchNorm2d(C, affine=False, track_running_stats=False)
// (BatchNorm1d for flat inputs, one "channel" per feature). The paper's CNN experiments keep batch
// norm but disable its affine parameters, which AGD does not handle (Section 3.3, Appendix B),
// so BatchNorm has no weights and AGD's depth L does not count it.
//
// Without running averages it normalises by the current batch in evaluation too, as PyTorch
// does in that mode: evaluate with batches of more than a few samples.
//
// It is the one layer whose output for a sample depends on the other samples, so it declares
// `couples_samples`: agd::Sequential then runs it on blocks of channels (each a block of rows,
// in CHW order) over the whole batch, rather than on blocks of samples.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"

namespace agd {

struct BatchNorm {
  static constexpr bool shape_dependent = true;
  /// PyTorch's default epsilon, added to the variance.
  static constexpr double epsilon = 1e-5;

  template <tensor_shape In>
  struct bind {
    static constexpr std::size_t input_size = In.size();
    static constexpr std::size_t output_size(std::size_t) { return In.size(); }
    static constexpr tensor_shape output_shape(tensor_shape) { return In; }
    static constexpr bool has_weights = false;
    static constexpr bool couples_samples = true;
    /// Rows per channel: the network splits the rows between threads in multiples of this.
    static constexpr std::size_t rows_per_channel = In.plane();
    static std::string name() { return BatchNorm::name(); }

    /// y = (x - mean_c) / sqrt(var_c + eps), mean and (biased) variance over the batch and the
    /// plane of each channel. x may be any whole number of channels (a block of rows).
    template <class S>
    static void forward(const_matrix_ref<S> x, matrix_ref<S> y) {
      const auto plane = Eigen::Index(In.plane());
      for (Eigen::Index c = 0; c < x.rows() / plane; ++c) {
        const auto xc = x.middleRows(c * plane, plane);
        const double count = double(xc.size());
        const double mean = double(xc.template cast<double>().sum()) / count;
        const double variance = (xc.template cast<double>().array() - mean).square().sum() / count;
        const S inverse_std = S(1.0 / std::sqrt(variance + epsilon));
        y.middleRows(c * plane, plane) = (xc.array() - S(mean)) * inverse_std;
      }
    }
    /// dx = (dy - mean(dy) - y * mean(dy .* y)) / sqrt(var + eps), per channel: the gradient
    /// through the batch statistics as well as through the scaling.
    template <class S>
    static void backward(const_matrix_ref<S> x, const_matrix_ref<S> y, const_matrix_ref<S> dy,
                         matrix_ref<S> dx) {
      const auto plane = Eigen::Index(In.plane());
      for (Eigen::Index c = 0; c < x.rows() / plane; ++c) {
        const auto xc = x.middleRows(c * plane, plane);
        const auto yc = y.middleRows(c * plane, plane);
        const auto dyc = dy.middleRows(c * plane, plane);
        const double count = double(xc.size());
        const double mean = double(xc.template cast<double>().sum()) / count;
        const double variance = (xc.template cast<double>().array() - mean).square().sum() / count;
        const double inverse_std = 1.0 / std::sqrt(variance + epsilon);
        const double mean_dy = double(dyc.template cast<double>().sum()) / count;
        const double mean_dy_y =
            double(
                (dyc.template cast<double>().array() * yc.template cast<double>().array()).sum()) /
            count;
        dx.middleRows(c * plane, plane) =
            ((dyc.array() - S(mean_dy)) - yc.array() * S(mean_dy_y)) * S(inverse_std);
      }
    }
  };
  static std::string name() { return "BatchNorm"; }
};

}  // namespace agd
