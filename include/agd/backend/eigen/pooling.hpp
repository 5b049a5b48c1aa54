// MaxPool2d's and AvgPool2d's kernel on the CPU backend. The kernel of layers/pooling.hpp,
// written once for every backend, computes each element on its own: each input pixel gathers
// from the windows over it and finds every window's routed pixel again, which is what a GPU
// wants (no two threads write one place) but costs a CPU core tens of nanoseconds a pixel in
// index arithmetic. A CPU thread owns whole samples, so here each window is visited once, in
// memory order: forward takes its maximum (or mean), backward adds its dy onto the pixel the
// gradient is routed to (the first pixel equal to the maximum, as PyTorch and the shared kernel
// do; for the mean, onto every pixel of the window), so the results are the same.
//
// The images may be in a blocked channel layout (core/view.hpp), as the convolutions around
// the pooling leave them on oneDNN: then the innermost loop runs over the lanes of a channel
// group, which lie next to each other.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "agd/backend/eigen/backend.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/pooling.hpp"

namespace agd {

template <class Unbound, detail::pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In>
struct layer_kernel<detail::pool_bound<Unbound, Kind, K, Stride, In>, eigen::cpu>
    : kernel_defaults {
  using geometry = detail::pool_geometry<Kind, K, Stride, In>;
  static constexpr std::size_t out_height = geometry::out_height;
  static constexpr std::size_t out_width = geometry::out_width;
  static constexpr std::size_t out_plane = out_height * out_width;
  static constexpr bool is_max = Kind == detail::pool_kind::max;
  /// Windows that tile the image cover each pixel once, so backward writes each pixel once and
  /// needs no zeroing pass; otherwise (overlaps, gaps) the windows add onto zeros.
  static constexpr bool tiles = K == Stride && In.height % K == 0 && In.width % K == 0;

  /// CHW or blocked, on either side.
  static constexpr layout_support layouts = layout_support::any;

  template <class S>
  static void forward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<S> y, std::byte*) {
    with_group(x.layout, y.layout, [&]<std::size_t G>() {
      for (std::size_t j = 0; j < x.cols; ++j) {
        const S* image = x.column(j);
        S* out = y.column(j);
        for_each_window<G>(x.layout.block, y.layout, [&](std::size_t window, std::size_t o) {
          S value[G];
          for (std::size_t lane = 0; lane < G; ++lane)
            value[lane] = is_max ? image[window + lane] : S(0);
          for (std::size_t e = 0; e < K * K; ++e) {
            const S* pixel = image + window + offset_of(e, x.layout.block);
            for (std::size_t lane = 0; lane < G; ++lane) {
              if constexpr (is_max)
                value[lane] = pixel[lane] > value[lane] ? pixel[lane] : value[lane];
              else
                value[lane] += pixel[lane];
            }
          }
          for (std::size_t lane = 0; lane < G; ++lane)
            out[o + lane] = is_max ? value[lane] : value[lane] / S(K * K);
        });
      }
    });
  }

  template <class S>
  static void backward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<const S> y,
                       matrix_view<const S> dy, matrix_view<S> dx, std::byte*) {
    with_group(x.layout, y.layout, [&]<std::size_t G>() {
      const std::size_t block = x.layout.block;
      for (std::size_t j = 0; j < x.cols; ++j) {
        const S* image = x.column(j);
        S* gradient = dx.column(j);
        if constexpr (!tiles) std::fill(gradient, gradient + In.size(), S(0));
        for_each_window<G>(block, y.layout, [&](std::size_t window, std::size_t o) {
          const S* incoming = dy.column(j) + o;
          S* target = gradient + window;
          if constexpr (is_max) {
            // Per lane, the first pixel equal to the maximum takes dy (or the window's first,
            // if none is: a NaN), in one pass over the window without branches (which pixel
            // wins is data, and would mispredict): `open` is 1 until a lane's pixel is found.
            const S* maximum = y.column(j) + o;
            std::uint32_t open[G];
            for (std::size_t lane = 0; lane < G; ++lane) open[lane] = 1;
            for (std::size_t e = 0; e < K * K; ++e) {
              const S* pixel = image + window + offset_of(e, block);
              S* out = target + offset_of(e, block);
              for (std::size_t lane = 0; lane < G; ++lane) {
                const std::uint32_t hit = std::uint32_t(pixel[lane] == maximum[lane]) & open[lane];
                open[lane] &= ~hit;
                const S share = hit ? incoming[lane] : S(0);
                out[lane] = tiles ? share : out[lane] + share;
              }
            }
            for (std::size_t lane = 0; lane < G; ++lane)
              if (open[lane]) target[lane] += incoming[lane];
          } else {
            for (std::size_t e = 0; e < K * K; ++e) {
              S* pixel = target + offset_of(e, block);
              for (std::size_t lane = 0; lane < G; ++lane) {
                const S share = incoming[lane] / S(K * K);
                pixel[lane] = tiles ? share : pixel[lane] + share;
              }
            }
          }
        });
      }
    });
  }

 private:
  /// Where pixel e (ky * K + kx) of a window lies from its top-left pixel, in a layout with
  /// channel group `block`.
  static std::size_t offset_of(std::size_t e, std::size_t block) {
    return ((e / K) * In.width + e % K) * block;
  }

  /// f.template operator()<G>(): G adjacent lanes at a time, the channel group both sides share
  /// (16 or 8), else one (CHW, or two layouts that differ, which only an output of one pixel per
  /// channel can: its value's place is then the same in both).
  template <class F>
  static void with_group(channel_layout in, channel_layout out, const F& f) {
    const bool shared = in.block == out.block;
    if (shared && in.block == 16)
      f.template operator()<16>();
    else if (shared && in.block == 8)
      f.template operator()<8>();
    else
      f.template operator()<1>();
  }

  /// f(window, o) for every G channels of an output pixel of one sample: `window` the offset of
  /// the window's top-left pixel in the image (in its layout, channel group `block`), `o` the
  /// output's offset in the output's layout; the G lanes follow each other on both sides.
  template <std::size_t G, class F>
  static void for_each_window(std::size_t block, channel_layout out_layout, const F& f) {
    const std::size_t groups = In.channels / block;
    for (std::size_t g = 0; g < groups; ++g)
      for (std::size_t oy = 0; oy < out_height; ++oy)
        for (std::size_t ox = 0; ox < out_width; ++ox) {
          const std::size_t corner =
              ((g * In.height + oy * Stride) * In.width + ox * Stride) * block;
          const std::size_t p = oy * out_width + ox;
          for (std::size_t lane = 0; lane < block; lane += G)
            f(corner + lane, G == block ? (g * out_plane + p) * block + lane
                                        : out_layout.offset(g * block + lane, p, out_plane));
        }
  }
};

}  // namespace agd
