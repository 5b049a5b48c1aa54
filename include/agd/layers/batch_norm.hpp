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
// `couples_samples`: the network then runs it on blocks of channels (each a block of rows, in
// CHW order) over the whole batch, rather than on blocks of samples.
//
// Its maths is written once: the statistics as per-channel sums (a backend's segmented sum, in
// double), the normalisation and its gradient as expressions evaluated element by element.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "agd/core/expression.hpp"
#include "agd/core/host_device.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/core/view.hpp"

namespace agd {

namespace detail {

/// Element i of a block of whole channels (rows) over n samples (columns), the channel c it
/// belongs to and its place in the buffer: i runs channel by channel, and within a channel
/// over the samples, so that a channel's elements are one segment [c * plane * n, ...).
struct channel_block {
  std::size_t plane;      // rows per channel
  std::size_t rows;       // rows of the block (channels * plane)
  std::size_t cols;       // samples
  std::size_t stride;     // of the buffer
  std::size_t group = 1;  // the layout's channel group (core/view.hpp): 1 for CHW
  AGD_HOST_DEVICE constexpr std::size_t offset(std::size_t c, std::size_t i) const {
    const std::size_t p = i % plane;
    return (i / plane) * stride +
           (group == 1 ? c * plane + p : ((c / group) * plane + p) * group + c % group);
  }
  AGD_HOST_DEVICE constexpr std::size_t element_offset(std::size_t e) const {
    return (e / rows) * stride + e % rows;
  }
  AGD_HOST_DEVICE constexpr std::size_t channel_of(std::size_t e) const {
    const std::size_t r = e % rows;
    return group == 1 ? r / plane : (r / (plane * group)) * group + r % group;
  }
};

/// value(c, i) for the segmented sums: x, (x - mean_c)^2, dy, dy * y.
template <class S>
struct channel_values {
  enum class kind { value, centred_square, product };
  channel_block block;
  const S* a;
  const S* b;
  const double* mean;
  kind what;
  AGD_HOST_DEVICE double operator()(std::size_t c, std::size_t i) const {
    const double v = double(a[block.offset(c, i)]);
    switch (what) {
      case kind::centred_square:
        return (v - mean[c]) * (v - mean[c]);
      case kind::product:
        return v * double(b[block.offset(c, i)]);
      default:
        return v;
    }
  }
};

/// stats[c] = sums[c] / count, and with `inverse_std` 1 / sqrt(stats[c] + eps).
struct channel_moment {
  double* stats;
  double count;
  double epsilon;
  bool inverse_std;
  AGD_HOST_DEVICE void operator()(std::size_t c) const {
    const double m = stats[c] / count;
    stats[c] = inverse_std ? 1.0 / math::sqrt(m + epsilon) : m;
  }
};

/// out = expression(element inputs..., per-channel scalars...): the element arrays are indexed
/// by the element, the channel arrays by its channel.
template <class S, std::size_t Elements, std::size_t Channels, class E>
struct channel_map {
  E expression;
  channel_block block;
  const S* elements[Elements];
  const double* channels[Channels];
  S* out;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t at = block.element_offset(e), c = block.channel_of(e);
    S values[Elements + Channels];
    for (std::size_t k = 0; k < Elements; ++k) values[k] = elements[k][at];
    for (std::size_t k = 0; k < Channels; ++k) values[Elements + k] = S(channels[k][c]);
    out[at] = S(expression(values));
  }
};

template <tensor_shape In>
struct batch_norm_bound;

}  // namespace detail

struct BatchNorm : layer_capabilities {
  static constexpr bool shape_dependent = true;
  /// PyTorch's default epsilon, added to the variance.
  static constexpr double epsilon = 1e-5;
  /// The maths of every backend's kernel, element by element:
  /// y = (x - mean_c) / sqrt(var_c + eps), of (x, mean_c, 1/sqrt(var_c + eps));
  static constexpr auto normalise =
      (expr::argument<0>{} - expr::argument<1>{}) * expr::argument<2>{};
  /// dx = (dy - mean_c(dy) - y mean_c(dy y)) / sqrt(var_c + eps), the gradient through the
  /// batch statistics as well as through the scaling, of (dy, y, mean_c(dy), mean_c(dy y),
  /// 1/sqrt(var_c + eps)).
  static constexpr auto gradient =
      (expr::argument<0>{} - expr::argument<2>{} - expr::argument<1>{} * expr::argument<3>{}) *
      expr::argument<4>{};
  template <tensor_shape In>
  using bind = detail::batch_norm_bound<In>;
  static std::string name() { return "BatchNorm"; }
};

namespace detail {
template <tensor_shape In>
struct batch_norm_bound : layer_capabilities {
  static constexpr std::size_t input_size = In.size();
  static constexpr std::size_t output_size(std::size_t) { return In.size(); }
  static constexpr bool shapes_output = true;
  static constexpr tensor_shape output_shape(tensor_shape) { return In; }
  static constexpr bool has_weights = false;
  static constexpr bool couples_samples = true;
  /// Rows per channel: the network splits the rows between threads in multiples of this.
  static constexpr std::size_t rows_per_channel = In.plane();
  static std::string name() { return BatchNorm::name(); }
};
}  // namespace detail

/// BatchNorm on every backend: segmented sums for the statistics, expressions for the rest. (The
/// CPU backend has a kernel of its own, backend/eigen/batch_norm.hpp, which walks a thread's
/// channels in memory order and evaluates the same expressions.)
template <tensor_shape In, class Backend>
struct layer_kernel<detail::batch_norm_bound<In>, Backend> : kernel_defaults {
  /// Per channel, wherever the layout puts a channel's values (x and y share the layout).
  static constexpr layout_support layouts = layout_support::same_in_and_out;

  /// Four per-channel doubles: mean, 1/std, mean(dy), mean(dy * y).
  template <class S>
  static constexpr std::size_t workspace_bytes(std::size_t) {
    return 4 * In.channels * sizeof(double);
  }

  /// y = (x - mean_c) / sqrt(var_c + eps), mean and (biased) variance over the batch and the
  /// plane of each channel. x may be any whole number of channels (a block of rows).
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> x, matrix_view<S> y,
                      std::byte* workspace) {
    const auto block = block_of(x);
    double* mean = reinterpret_cast<double*>(workspace);
    double* inverse_std = mean + In.channels;
    statistics(context, x, block, mean, inverse_std);
    using expression = std::remove_const_t<decltype(BatchNorm::normalise)>;
    Backend::local_for_each(
        context, x.size(),
        detail::channel_map<S, 1, 2, expression>{
            BatchNorm::normalise, block, {x.data}, {mean, inverse_std}, y.data});
  }
  /// dx = (dy - mean(dy) - y * mean(dy .* y)) / sqrt(var + eps), per channel: the gradient
  /// through the batch statistics as well as through the scaling.
  template <class S>
  static void backward(typename Backend::context& context, matrix_view<const S> x,
                       matrix_view<const S> y, matrix_view<const S> dy, matrix_view<S> dx,
                       std::byte* workspace) {
    const auto block = block_of(x);
    double* mean = reinterpret_cast<double*>(workspace);
    double* inverse_std = mean + In.channels;
    double* mean_dy = inverse_std + In.channels;
    double* mean_dy_y = mean_dy + In.channels;
    statistics(context, x, block, mean, inverse_std);
    const std::size_t channels = block.rows / In.plane();
    using kind = typename detail::channel_values<S>::kind;
    Backend::local_segmented_sum(
        context, channels, In.plane() * x.cols,
        detail::channel_values<S>{block, dy.data, nullptr, nullptr, kind::value}, mean_dy);
    Backend::local_segmented_sum(
        context, channels, In.plane() * x.cols,
        detail::channel_values<S>{block, dy.data, y.data, nullptr, kind::product}, mean_dy_y);
    const double count = double(In.plane() * x.cols);
    Backend::local_for_each(context, channels, detail::channel_moment{mean_dy, count, 0.0, false});
    Backend::local_for_each(context, channels,
                            detail::channel_moment{mean_dy_y, count, 0.0, false});
    using expression = std::remove_const_t<decltype(BatchNorm::gradient)>;
    Backend::local_for_each(
        context, x.size(),
        detail::channel_map<S, 2, 3, expression>{BatchNorm::gradient,
                                                 block,
                                                 {dy.data, y.data},
                                                 {mean_dy, mean_dy_y, inverse_std},
                                                 dx.data});
  }

 private:
  template <class S>
  static detail::channel_block block_of(matrix_view<const S> x) {
    return {In.plane(), x.rows, x.cols, x.stride, x.layout.block};
  }
  /// mean_c, then 1/sqrt(var_c + eps) from the centred squares (two passes, as PyTorch).
  template <class S>
  static void statistics(typename Backend::context& context, matrix_view<const S> x,
                         detail::channel_block block, double* mean, double* inverse_std) {
    using kind = typename detail::channel_values<S>::kind;
    const std::size_t channels = block.rows / In.plane();
    const double count = double(In.plane() * x.cols);
    Backend::local_segmented_sum(
        context, channels, In.plane() * x.cols,
        detail::channel_values<S>{block, x.data, nullptr, nullptr, kind::value}, mean);
    Backend::local_for_each(context, channels, detail::channel_moment{mean, count, 0.0, false});
    Backend::local_segmented_sum(
        context, channels, In.plane() * x.cols,
        detail::channel_values<S>{block, x.data, nullptr, mean, kind::centred_square}, inverse_std);
    Backend::local_for_each(context, channels,
                            detail::channel_moment{inverse_std, count, BatchNorm::epsilon, true});
  }
};

}  // namespace agd
