// Pooling layers: MaxPool2d<K, S>, AvgPool2d<K, S> and GlobalAvgPool. They have no weights, so
// AGD's depth L does not count them. Like Conv2d they are bound to their input shape by
// agd::Sequential; a window that does not tile the input (leaves pixels over) is a compile error
// naming the layer, the window and the input shape.
#pragma once

#include <cstddef>
#include <string>

#include "agd/core/layer.hpp"
#include "agd/core/shape.hpp"
#include "agd/network/shape_check.hpp"

namespace agd {

namespace detail {

enum class pool_kind { max, average };

template <class Unbound, pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In>
struct pool_bound {
  static_assert(
      shape_error::in<Unbound>::template window_with_stride<
          K, Stride>::template does_not_tile_the_input<In.channels, In.height, In.width>::value);

  static constexpr std::size_t out_height = (In.height - K) / Stride + 1;
  static constexpr std::size_t out_width = (In.width - K) / Stride + 1;
  static constexpr tensor_shape out_shape{In.channels, out_height, out_width};

  static constexpr std::size_t input_size = In.size();
  static constexpr std::size_t output_size(std::size_t) { return out_shape.size(); }
  static constexpr tensor_shape output_shape(tensor_shape) { return out_shape; }
  static constexpr bool has_weights = false;
  static std::string name() { return Unbound::name(); }

  template <class S>
  static void forward(const_matrix_ref<S> x, matrix_ref<S> y) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const S* image = x.col(j).data();
      S* out = y.col(j).data();
      for (std::size_t c = 0; c < In.channels; ++c)
        for (std::size_t oy = 0; oy < out_height; ++oy)
          for (std::size_t ox = 0; ox < out_width; ++ox) {
            const S* window = image + (c * In.height + oy * Stride) * In.width + ox * Stride;
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
            out[(c * out_height + oy) * out_width + ox] = value;
          }
    }
  }

  /// Max: each output's gradient goes to the first input of its window that equals the maximum
  /// (PyTorch's rule). Average: spread evenly over the window. Overlapping windows add up.
  template <class S>
  static void backward(const_matrix_ref<S> x, const_matrix_ref<S> y, const_matrix_ref<S> dy,
                       matrix_ref<S> dx) {
    dx.setZero();
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      const S* image = x.col(j).data();
      const S* out = y.col(j).data();
      const S* d_out = dy.col(j).data();
      S* d_image = dx.col(j).data();
      for (std::size_t c = 0; c < In.channels; ++c)
        for (std::size_t oy = 0; oy < out_height; ++oy)
          for (std::size_t ox = 0; ox < out_width; ++ox) {
            const std::size_t o = (c * out_height + oy) * out_width + ox;
            const std::size_t corner = (c * In.height + oy * Stride) * In.width + ox * Stride;
            if constexpr (Kind == pool_kind::max) {
              bool routed = false;
              for (std::size_t ky = 0; ky < K && !routed; ++ky)
                for (std::size_t kx = 0; kx < K && !routed; ++kx)
                  if (image[corner + ky * In.width + kx] == out[o]) {
                    d_image[corner + ky * In.width + kx] += d_out[o];
                    routed = true;
                  }
            } else {
              const S share = d_out[o] / S(K * K);
              for (std::size_t ky = 0; ky < K; ++ky)
                for (std::size_t kx = 0; kx < K; ++kx)
                  d_image[corner + ky * In.width + kx] += share;
            }
          }
    }
  }
};

}  // namespace detail

/// Max over K x K windows moved by Stride (default: non-overlapping windows).
template <std::size_t K, std::size_t Stride = K>
struct MaxPool2d {
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
struct AvgPool2d {
  static_assert(K > 0 && Stride > 0, "agd::AvgPool2d<K, Stride>: both must be positive");
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  using bind = detail::pool_bound<AvgPool2d, detail::pool_kind::average, K, Stride, In>;
  static std::string name() {
    return "AvgPool2d<" + std::to_string(K) + "," + std::to_string(Stride) + ">";
  }
};

/// The mean of each channel's plane: C x H x W -> C (as a flat vector of C features).
struct GlobalAvgPool {
  static constexpr std::size_t input_size = any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }  // refined by the shape
  static constexpr bool has_weights = false;
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  struct bind {
    static constexpr std::size_t input_size = In.size();
    static constexpr std::size_t output_size(std::size_t) { return In.channels; }
    static constexpr tensor_shape output_shape(tensor_shape) { return flat_shape(In.channels); }
    static constexpr bool has_weights = false;
    static std::string name() { return GlobalAvgPool::name(); }

    template <class S>
    static void forward(const_matrix_ref<S> x, matrix_ref<S> y) {
      const auto plane = Eigen::Index(In.plane());
      for (Eigen::Index j = 0; j < x.cols(); ++j)
        for (Eigen::Index c = 0; c < Eigen::Index(In.channels); ++c)
          y(c, j) = x.col(j).segment(c * plane, plane).mean();
    }
    template <class S>
    static void backward(const_matrix_ref<S>, const_matrix_ref<S>, const_matrix_ref<S> dy,
                         matrix_ref<S> dx) {
      const auto plane = Eigen::Index(In.plane());
      for (Eigen::Index j = 0; j < dy.cols(); ++j)
        for (Eigen::Index c = 0; c < Eigen::Index(In.channels); ++c)
          dx.col(j).segment(c * plane, plane).setConstant(dy(c, j) / S(plane));
    }
  };
  static std::string name() { return "GlobalAvgPool"; }
};

}  // namespace agd
