// Pooling layers: MaxPool2d<K, S>, AvgPool2d<K, S> and GlobalAvgPool. They have no weights, so
// AGD's depth L does not count them. Like Conv2d they are bound to their input shape by
// agd::Sequential; a window that does not tile the input (leaves pixels over) is a compile error
// naming the layer, the window and the input shape.
//
// Their maths is written once, element by element (one output value forward, one input pixel
// backward, which gathers from the windows that cover it, so that no two elements write the
// same place), and every backend runs it with its element-wise pass.
#pragma once

#include <cstddef>
#include <string>

#include "agd/core/host_device.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/core/shape_check.hpp"
#include "agd/core/view.hpp"

namespace agd {

namespace detail {

enum class pool_kind { max, average };

/// A K x K window moved by Stride over a C x H x W image, element by element.
template <pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In>
struct pool_geometry {
  static constexpr std::size_t out_height = (In.height - K) / Stride + 1;
  static constexpr std::size_t out_width = (In.width - K) / Stride + 1;
  static constexpr std::size_t out_size = In.channels * out_height * out_width;

  /// Where output o's window starts in the image, and o's channel plane.
  AGD_HOST_DEVICE static constexpr std::size_t corner(std::size_t o) {
    const std::size_t c = o / (out_height * out_width);
    const std::size_t rest = o % (out_height * out_width);
    return (c * In.height + (rest / out_width) * Stride) * In.width + (rest % out_width) * Stride;
  }
  /// Max: the window's largest value; average: its mean.
  template <class S>
  AGD_HOST_DEVICE static S pool(const S* image, std::size_t o) {
    const S* window = image + corner(o);
    S value = Kind == pool_kind::max ? window[0] : S(0);
    for (std::size_t ky = 0; ky < K; ++ky)
      for (std::size_t kx = 0; kx < K; ++kx) {
        const S v = window[ky * In.width + kx];
        if constexpr (Kind == pool_kind::max)
          value = v > value ? v : value;
        else
          value += v;
      }
    if constexpr (Kind == pool_kind::average) value /= S(K * K);
    return value;
  }
  /// Max: the offset in the image of the first pixel of the window equal to its maximum (the
  /// one PyTorch routes the gradient to).
  template <class S>
  AGD_HOST_DEVICE static std::size_t routed_pixel(const S* image, S maximum, std::size_t o) {
    const std::size_t start = corner(o);
    for (std::size_t ky = 0; ky < K; ++ky)
      for (std::size_t kx = 0; kx < K; ++kx)
        if (image[start + ky * In.width + kx] == maximum) return start + ky * In.width + kx;
    return start;
  }
};

/// y[o] of sample j for every element of a block of samples.
template <class S, class Geometry, std::size_t InSize>
struct pool_forward_element {
  const S* x;
  S* y;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / Geometry::out_size, o = e % Geometry::out_size;
    y[e] = Geometry::pool(x + j * InSize, o);
  }
};

/// dx[p] of sample j: the sum of dy over the windows that cover pixel p (for max pooling, only
/// those whose routed pixel is p; for average pooling each gives 1/K^2 of its dy).
template <class S, pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In>
struct pool_backward_element {
  using geometry = pool_geometry<Kind, K, Stride, In>;
  const S* x;
  const S* y;
  const S* dy;
  S* dx;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / In.size(), p = e % In.size();
    const std::size_t c = p / In.plane(), iy = (p % In.plane()) / In.width, ix = p % In.width;
    // Windows oy with oy*Stride <= iy < oy*Stride + K, likewise for ox.
    const std::size_t oy_first = iy + 1 > K ? (iy + 1 - K + Stride - 1) / Stride : 0;
    const std::size_t ox_first = ix + 1 > K ? (ix + 1 - K + Stride - 1) / Stride : 0;
    const std::size_t oy_last =
        iy / Stride < geometry::out_height ? iy / Stride : geometry::out_height - 1;
    const std::size_t ox_last =
        ix / Stride < geometry::out_width ? ix / Stride : geometry::out_width - 1;
    const S* image = x + j * In.size();
    const std::size_t out_base =
        j * geometry::out_size + c * geometry::out_height * geometry::out_width;
    S sum = S(0);
    for (std::size_t oy = oy_first; oy <= oy_last; ++oy)
      for (std::size_t ox = ox_first; ox <= ox_last; ++ox) {
        const std::size_t o = out_base + oy * geometry::out_width + ox;
        if constexpr (Kind == pool_kind::max) {
          const std::size_t local = o - j * geometry::out_size;
          if (geometry::routed_pixel(image, y[o], local) == p) sum += dy[o];
        } else {
          sum += dy[o] / S(K * K);
        }
      }
    dx[e] = sum;
  }
};

template <class Unbound, pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In>
struct pool_bound : layer_capabilities {
  static_assert(
      shape_error::in<Unbound>::template window_with_stride<
          K, Stride>::template does_not_tile_the_input<In.channels, In.height, In.width>::value);
  using geometry = pool_geometry<Kind, K, Stride, In>;
  static constexpr std::size_t out_height = geometry::out_height;
  static constexpr std::size_t out_width = geometry::out_width;
  static constexpr tensor_shape out_shape{In.channels, out_height, out_width};

  static constexpr std::size_t input_size = In.size();
  static constexpr std::size_t output_size(std::size_t) { return out_shape.size(); }
  static constexpr bool shapes_output = true;
  static constexpr tensor_shape output_shape(tensor_shape) { return out_shape; }
  static constexpr bool has_weights = false;
  static std::string name() { return Unbound::name(); }
};

/// GlobalAvgPool bound to its input: the mean of each channel's plane.
template <tensor_shape In>
struct global_average_bound : layer_capabilities {
  static constexpr std::size_t input_size = In.size();
  static constexpr std::size_t output_size(std::size_t) { return In.channels; }
  static constexpr bool shapes_output = true;
  static constexpr tensor_shape output_shape(tensor_shape) { return flat_shape(In.channels); }
  static constexpr bool has_weights = false;
  static std::string name() { return "GlobalAvgPool"; }
};

template <class S, tensor_shape In>
struct global_average_forward_element {
  const S* x;
  S* y;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / In.channels, c = e % In.channels;
    const S* plane = x + j * In.size() + c * In.plane();
    S sum = S(0);
    for (std::size_t i = 0; i < In.plane(); ++i) sum += plane[i];
    y[e] = sum / S(In.plane());
  }
};
template <class S, tensor_shape In>
struct global_average_backward_element {
  const S* dy;
  S* dx;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t j = e / In.size(), c = (e % In.size()) / In.plane();
    dx[e] = dy[j * In.channels + c] / S(In.plane());
  }
};

}  // namespace detail

/// Max over K x K windows moved by Stride (default: non-overlapping windows).
template <std::size_t K, std::size_t Stride = K>
struct MaxPool2d : layer_capabilities {
  static_assert(K > 0 && Stride > 0, "agd::MaxPool2d<K, Stride>: both must be positive");
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  using bind = detail::pool_bound<MaxPool2d, detail::pool_kind::max, K, Stride, In>;
  static std::string name() {
    return "MaxPool2d<" + std::to_string(K) + "," + std::to_string(Stride) + ">";
  }
};

/// Mean over K x K windows moved by Stride (default: non-overlapping windows).
template <std::size_t K, std::size_t Stride = K>
struct AvgPool2d : layer_capabilities {
  static_assert(K > 0 && Stride > 0, "agd::AvgPool2d<K, Stride>: both must be positive");
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  using bind = detail::pool_bound<AvgPool2d, detail::pool_kind::average, K, Stride, In>;
  static std::string name() {
    return "AvgPool2d<" + std::to_string(K) + "," + std::to_string(Stride) + ">";
  }
};

/// The mean of each channel's plane: C x H x W -> C (as a flat vector of C features).
struct GlobalAvgPool : layer_capabilities {
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  using bind = detail::global_average_bound<In>;
  static std::string name() { return "GlobalAvgPool"; }
};

/// Pooling on every backend: its element-wise pass over the block of samples.
template <class Unbound, detail::pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In,
          class Backend>
struct layer_kernel<detail::pool_bound<Unbound, Kind, K, Stride, In>, Backend> : kernel_defaults {
  using geometry = detail::pool_geometry<Kind, K, Stride, In>;
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> x, matrix_view<S> y,
                      std::byte*) {
    Backend::local_for_each(context, y.size(),
                            detail::pool_forward_element<S, geometry, In.size()>{x.data, y.data});
  }
  template <class S>
  static void backward(typename Backend::context& context, matrix_view<const S> x,
                       matrix_view<const S> y, matrix_view<const S> dy, matrix_view<S> dx,
                       std::byte*) {
    Backend::local_for_each(
        context, dx.size(),
        detail::pool_backward_element<S, Kind, K, Stride, In>{x.data, y.data, dy.data, dx.data});
  }
};

template <tensor_shape In, class Backend>
struct layer_kernel<detail::global_average_bound<In>, Backend> : kernel_defaults {
  template <class S>
  static void forward(typename Backend::context& context, matrix_view<const S> x, matrix_view<S> y,
                      std::byte*) {
    Backend::local_for_each(context, y.size(),
                            detail::global_average_forward_element<S, In>{x.data, y.data});
  }
  template <class S>
  static void backward(typename Backend::context& context, matrix_view<const S>,
                       matrix_view<const S>, matrix_view<const S> dy, matrix_view<S> dx,
                       std::byte*) {
    Backend::local_for_each(context, dx.size(),
                            detail::global_average_backward_element<S, In>{dy.data, dx.data});
  }
};

}  // namespace agd
