// MaxPool2d's kernel on the CPU backend. The kernel of layers/pooling.hpp, written once for every
// backend, computes each element on its own: each input pixel gathers from the windows over it
// and finds every window's routed pixel again, which is what a GPU wants (no two threads write
// one place) but costs a CPU core tens of nanoseconds a pixel in index arithmetic. A CPU thread
// owns whole samples, so here each window is visited once, in memory order: forward takes its
// maximum, backward adds its dy onto the pixel the gradient is routed to (the first pixel equal
// to the maximum, as PyTorch and the shared kernel do), so the results are the same.
#pragma once

#include <algorithm>
#include <cstddef>

#include "agd/backend/eigen/backend.hpp"
#include "agd/core/kernel.hpp"
#include "agd/layers/pooling.hpp"

namespace agd {

template <class Unbound, std::size_t K, std::size_t Stride, tensor_shape In>
struct layer_kernel<detail::pool_bound<Unbound, detail::pool_kind::max, K, Stride, In>,
                    eigen::cpu> {
  using geometry = detail::pool_geometry<detail::pool_kind::max, K, Stride, In>;
  static constexpr std::size_t out_height = geometry::out_height;
  static constexpr std::size_t out_width = geometry::out_width;

  template <class S>
  static void forward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<S> y, std::byte*) {
    for (std::size_t j = 0; j < x.cols; ++j)
      for_each_window(x.column(j), [&](std::size_t o, const S* window) {
        S value = window[0];
        for (std::size_t ky = 0; ky < K; ++ky)
          for (std::size_t kx = 0; kx < K; ++kx) {
            const S v = window[ky * In.width + kx];
            value = v > value ? v : value;
          }
        y.column(j)[o] = value;
      });
  }

  template <class S>
  static void backward(eigen::cpu::context&, matrix_view<const S> x, matrix_view<const S> y,
                       matrix_view<const S> dy, matrix_view<S> dx, std::byte*) {
    for (std::size_t j = 0; j < x.cols; ++j) {
      const S* image = x.column(j);
      S* gradient = dx.column(j);
      // Windows that tile the image cover each pixel once, so each writes its own pixels and
      // no zeroing pass is needed; otherwise (overlaps, gaps) the windows add onto zeros.
      constexpr bool tiles = K == Stride && In.height % K == 0 && In.width % K == 0;
      if constexpr (!tiles) std::fill(gradient, gradient + In.size(), S(0));
      for_each_window(image, [&](std::size_t o, const S* window) {
        const S maximum = y.column(j)[o];
        // The first pixel equal to the maximum, or the window's first if none is (a NaN).
        // Selected without branches: which pixel wins is data, and would mispredict.
        std::size_t routed = 0;
        bool found = false;
        for (std::size_t e = 0; e < K * K; ++e) {
          const std::size_t offset = (e / K) * In.width + e % K;
          const bool hit = !found && window[offset] == maximum;
          routed = hit ? offset : routed;
          found = found || hit;
        }
        S* target = gradient + std::size_t(window - image);
        if constexpr (tiles) {
          for (std::size_t ky = 0; ky < K; ++ky)
            for (std::size_t kx = 0; kx < K; ++kx) target[ky * In.width + kx] = S(0);
          target[routed] = dy.column(j)[o];
        } else {
          target[routed] += dy.column(j)[o];
        }
      });
    }
  }

 private:
  /// f(o, window) for every output o of one sample, window pointing at its top-left pixel.
  template <class S, class F>
  static void for_each_window(const S* image, const F& f) {
    std::size_t o = 0;
    for (std::size_t c = 0; c < In.channels; ++c)
      for (std::size_t oy = 0; oy < out_height; ++oy)
        for (std::size_t ox = 0; ox < out_width; ++ox, ++o)
          f(o, image + (c * In.height + oy * Stride) * In.width + ox * Stride);
  }
};

}  // namespace agd
