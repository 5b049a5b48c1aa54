// BatchNorm's kernel on the CPU backend. The kernel of layers/batch_norm.hpp, written once for
// every backend, finds each element's channel and place by integer division, which suits a GPU
// (one thread an element) but costs a CPU core more than the arithmetic. A CPU thread here owns
// whole channels (whole channel groups in a blocked layout, core/view.hpp), so it walks their
// values in memory order instead: the statistics as per-lane sums in double, in one pass over x
// (the sum and the sum of squares), and the normalisation and the gradient as the layer's own
// expressions (BatchNorm::normalise, BatchNorm::gradient), evaluated element by element.
//
// The variance is E[x^2] - E[x]^2 in double: for float inputs this loses nothing that float
// would keep unless a channel's mean is about a million times its standard deviation.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "agd/backend/eigen/backend.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/batch_norm.hpp"

namespace agd {

template <tensor_shape In>
struct layer_kernel<detail::batch_norm_bound<In>, eigen::cpu> : kernel_defaults {
  static constexpr layout_support layouts = layout_support::same_in_and_out;
  static constexpr std::size_t plane = In.plane();

  /// Four per-channel doubles: mean, 1/std, mean(dy), mean(dy * y).
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t) {
    return 4 * In.channels * sizeof(double);
  }

  /// y = (x - mean_c) / sqrt(var_c + eps) for a block of whole channels (or channel groups).
  template <class S>
  static void forward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<S> y,
                      std::byte* workspace) {
    with_group(x.layout.block, [&]<std::size_t G>() {
      double* mean = reinterpret_cast<double*>(workspace);
      double* inverse_std = mean + In.channels;
      moments<S, G>(x, mean, inverse_std);
      for_each_chunk<G>(x, [&](std::size_t j, std::size_t offset, std::size_t c) {
        const S* in = x.column(j) + offset;
        S* out = y.column(j) + offset;
        S values[3];
        for (std::size_t p = 0; p < plane; ++p)
          for (std::size_t lane = 0; lane < G; ++lane) {
            values[0] = in[p * G + lane];
            values[1] = S(mean[c + lane]);
            values[2] = S(inverse_std[c + lane]);
            out[p * G + lane] = BatchNorm::normalise(values);
          }
      });
    });
  }

  /// dx from dy, through the batch statistics as well as the scaling.
  template <class S>
  static void backward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<const S> y,
                       matrix_view<const S> dy, matrix_view<S> dx, std::byte* workspace) {
    with_group(x.layout.block, [&]<std::size_t G>() {
      double* mean = reinterpret_cast<double*>(workspace);
      double* inverse_std = mean + In.channels;
      double* mean_dy = inverse_std + In.channels;
      double* mean_dy_y = mean_dy + In.channels;
      moments<S, G>(x, mean, inverse_std);
      const std::size_t channels = x.rows / plane;
      std::fill(mean_dy, mean_dy + channels, 0.0);
      std::fill(mean_dy_y, mean_dy_y + channels, 0.0);
      for_each_chunk<G>(x, [&](std::size_t j, std::size_t offset, std::size_t c) {
        const S* gradient = dy.column(j) + offset;
        const S* output = y.column(j) + offset;
        double sum[G] = {}, product[G] = {};
        for (std::size_t p = 0; p < plane; ++p)
          for (std::size_t lane = 0; lane < G; ++lane) {
            sum[lane] += double(gradient[p * G + lane]);
            product[lane] += double(gradient[p * G + lane]) * double(output[p * G + lane]);
          }
        for (std::size_t lane = 0; lane < G; ++lane) {
          mean_dy[c + lane] += sum[lane];
          mean_dy_y[c + lane] += product[lane];
        }
      });
      const double count = double(plane * x.cols);
      for (std::size_t c = 0; c < channels; ++c) {
        mean_dy[c] /= count;
        mean_dy_y[c] /= count;
      }
      for_each_chunk<G>(x, [&](std::size_t j, std::size_t offset, std::size_t c) {
        const S* gradient = dy.column(j) + offset;
        const S* output = y.column(j) + offset;
        S* result = dx.column(j) + offset;
        S values[5];
        for (std::size_t p = 0; p < plane; ++p)
          for (std::size_t lane = 0; lane < G; ++lane) {
            values[0] = gradient[p * G + lane];
            values[1] = output[p * G + lane];
            values[2] = S(mean_dy[c + lane]);
            values[3] = S(mean_dy_y[c + lane]);
            values[4] = S(inverse_std[c + lane]);
            result[p * G + lane] = BatchNorm::gradient(values);
          }
      });
    });
  }

 private:
  /// f.template operator()<G>() with G the layout's channel group as a constant (1 for CHW, 8 or
  /// 16 blocked), so that the innermost loops run over a fixed number of adjacent lanes.
  template <class F>
  static void with_group(std::size_t group, const F& f) {
    if (group == 16)
      f.template operator()<16>();
    else if (group == 8)
      f.template operator()<8>();
    else
      f.template operator()<1>();
  }

  /// f(sample, offset, first channel) for every chunk of the block: G channels' values of one
  /// sample, plane * G of them from `offset` in its column, lane-innermost.
  template <std::size_t G, class S, class F>
  static void for_each_chunk(matrix_view<S> x, const F& f) {
    const std::size_t groups = x.rows / plane / G;
    for (std::size_t g = 0; g < groups; ++g)
      for (std::size_t j = 0; j < x.cols; ++j) f(j, g * plane * G, g * G);
  }

  /// mean_c and 1/sqrt(var_c + eps) of every channel of the block, from per-lane sums of x and
  /// x^2 in double (for CHW, G == 1, eight partial sums, so that the loop vectorises).
  template <class S, std::size_t G>
  static void moments(matrix_view<const S> x, double* mean, double* inverse_std) {
    constexpr std::size_t ways = G == 1 ? 8 : 1;
    const std::size_t channels = x.rows / plane;
    std::fill(mean, mean + channels, 0.0);
    std::fill(inverse_std, inverse_std + channels, 0.0);
    for_each_chunk<G>(x, [&](std::size_t j, std::size_t offset, std::size_t c) {
      const S* in = x.column(j) + offset;
      double sum[G * ways] = {}, squares[G * ways] = {};
      constexpr std::size_t whole = plane / ways * ways;
      for (std::size_t p = 0; p < whole; p += ways)
        for (std::size_t k = 0; k < G * ways; ++k) {
          const double v = double(in[p * G + k]);
          sum[k] += v;
          squares[k] += v * v;
        }
      if constexpr (whole < plane)
        for (std::size_t k = 0; k < (plane - whole) * G; ++k) {
          const double v = double(in[whole * G + k]);
          sum[k % G] += v;
          squares[k % G] += v * v;
        }
      for (std::size_t k = 0; k < G * ways; ++k) {
        mean[c + k % G] += sum[k];
        inverse_std[c + k % G] += squares[k];
      }
    });
    const double count = double(plane * x.cols);
    for (std::size_t c = 0; c < channels; ++c) {
      const double m = mean[c] / count;
      const double variance = std::max(inverse_std[c] / count - m * m, 0.0);
      mean[c] = m;
      inverse_std[c] = 1.0 / std::sqrt(variance + BatchNorm::epsilon);
    }
  }
};

}  // namespace agd
