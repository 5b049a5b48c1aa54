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

#include "agd/backend/eigen/backend.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/pooling.hpp"

namespace agd {

template <class Unbound, detail::pool_kind Kind, std::size_t K, std::size_t Stride, tensor_shape In>
struct layer_kernel<detail::pool_bound<Unbound, Kind, K, Stride, In>, eigen::cpu> {
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
    const std::size_t block = x.layout.block;
    for (std::size_t j = 0; j < x.cols; ++j) {
      const S* image = x.column(j);
      S* out = y.column(j);
      for_each_window(block, y.layout, [&](std::size_t window, std::size_t o) {
        S value = is_max ? image[window] : S(0);
        for (std::size_t ky = 0; ky < K; ++ky)
          for (std::size_t kx = 0; kx < K; ++kx) {
            const S v = image[window + (ky * In.width + kx) * block];
            if constexpr (is_max)
              value = v > value ? v : value;
            else
              value += v;
          }
        out[o] = is_max ? value : value / S(K * K);
      });
    }
  }

  template <class S>
  static void backward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<const S> y,
                       matrix_view<const S> dy, matrix_view<S> dx, std::byte*) {
    const std::size_t block = x.layout.block;
    for (std::size_t j = 0; j < x.cols; ++j) {
      const S* image = x.column(j);
      S* gradient = dx.column(j);
      if constexpr (!tiles) std::fill(gradient, gradient + In.size(), S(0));
      for_each_window(block, y.layout, [&](std::size_t window, std::size_t o) {
        const S incoming = dy.column(j)[o];
        if constexpr (is_max) {
          const S maximum = y.column(j)[o];
          // The first pixel equal to the maximum, or the window's first if none is (a NaN).
          // Selected without branches: which pixel wins is data, and would mispredict.
          std::size_t routed = 0;
          bool found = false;
          for (std::size_t e = 0; e < K * K; ++e) {
            const std::size_t offset = ((e / K) * In.width + e % K) * block;
            const bool hit = !found && image[window + offset] == maximum;
            routed = hit ? offset : routed;
            found = found || hit;
          }
          S* target = gradient + window;
          if constexpr (tiles) {
            for (std::size_t ky = 0; ky < K; ++ky)
              for (std::size_t kx = 0; kx < K; ++kx) target[(ky * In.width + kx) * block] = S(0);
            target[routed] = incoming;
          } else {
            target[routed] += incoming;
          }
        } else {
          const S share = incoming / S(K * K);
          for (std::size_t ky = 0; ky < K; ++ky)
            for (std::size_t kx = 0; kx < K; ++kx) {
              S& pixel = gradient[window + (ky * In.width + kx) * block];
              pixel = tiles ? share : pixel + share;
            }
        }
      });
    }
  }

 private:
  /// f(window, o) for every output of one sample: `window` the offset of its window's top-left
  /// pixel in the image (in the image's layout, channel group `block`), `o` the output's offset
  /// in the output's layout.
  template <class F>
  static void for_each_window(std::size_t block, channel_layout out_layout, const F& f) {
    const std::size_t groups = In.channels / block;
    const bool same_layout = out_layout.block == block;
    for (std::size_t g = 0; g < groups; ++g)
      for (std::size_t oy = 0; oy < out_height; ++oy)
        for (std::size_t ox = 0; ox < out_width; ++ox) {
          const std::size_t corner =
              ((g * In.height + oy * Stride) * In.width + ox * Stride) * block;
          const std::size_t p = oy * out_width + ox;
          for (std::size_t lane = 0; lane < block; ++lane) {
            const std::size_t o = same_layout ? (g * out_plane + p) * block + lane
                                              : out_layout.offset(g * block + lane, p, out_plane);
            f(corner + lane, o);
          }
        }
  }
};

}  // namespace agd
