// im2row and its adjoint row2im: the CPU convolution as one GEMM per sample.
//
// For a K x K convolution with stride S and zero padding P over a C x H x W image (CHW order,
// core/shape.hpp), im2row writes the (Ho*Wo) x (K*K*C) matrix R whose row p holds the input
// patch under output position p, column-major, with column index (ky * K + kx) * C + c. Then
//   Y (Ho*Wo x Cout) = R W^T,   dW = dY^T R,   dR = dY W,   dX = row2im(dR)
// where W is Cout x (K*K*C). Ordering the columns slice by slice makes each (ky, kx) slice of
// the kernel, the Cout x C matrix that AGD's Appendix B normalises on its own, a contiguous block
// of W (its columns (ky*K+kx)*C .. +C), and Y's column o is output channel o's plane, so Y is
// already the CHW output of the sample.
#pragma once

#include <cstddef>

namespace agd::cpu {

struct conv_geometry {
  std::size_t channels, height, width;  // input C x H x W
  std::size_t kernel, stride, padding;
  std::size_t out_height, out_width;

  constexpr std::size_t positions() const { return out_height * out_width; }
  constexpr std::size_t patch() const { return kernel * kernel * channels; }
};

/// R (positions x patch, column-major, leading dimension positions) from one CHW image.
template <class S>
void im2row(const conv_geometry& g, const S* image, S* rows) {
  const std::size_t positions = g.positions();
  for (std::size_t ky = 0; ky < g.kernel; ++ky)
    for (std::size_t kx = 0; kx < g.kernel; ++kx)
      for (std::size_t c = 0; c < g.channels; ++c) {
        S* column = rows + ((ky * g.kernel + kx) * g.channels + c) * positions;
        const S* plane = image + c * g.height * g.width;
        for (std::size_t oy = 0; oy < g.out_height; ++oy) {
          S* out = column + oy * g.out_width;
          // Padded coordinates: iy = oy * S + ky - P, tested without going negative.
          const std::size_t iy_padded = oy * g.stride + ky;
          if (iy_padded < g.padding || iy_padded - g.padding >= g.height) {
            for (std::size_t ox = 0; ox < g.out_width; ++ox) out[ox] = S(0);
            continue;
          }
          const S* in = plane + (iy_padded - g.padding) * g.width;
          for (std::size_t ox = 0; ox < g.out_width; ++ox) {
            const std::size_t ix_padded = ox * g.stride + kx;
            out[ox] = (ix_padded < g.padding || ix_padded - g.padding >= g.width)
                          ? S(0)
                          : in[ix_padded - g.padding];
          }
        }
      }
}

/// The adjoint of im2row: adds every entry of dR back onto the input pixel it was copied from
/// (padding positions are dropped). `image` must be zeroed by the caller.
template <class S>
void row2im_add(const conv_geometry& g, const S* rows, S* image) {
  const std::size_t positions = g.positions();
  for (std::size_t ky = 0; ky < g.kernel; ++ky)
    for (std::size_t kx = 0; kx < g.kernel; ++kx)
      for (std::size_t c = 0; c < g.channels; ++c) {
        const S* column = rows + ((ky * g.kernel + kx) * g.channels + c) * positions;
        S* plane = image + c * g.height * g.width;
        for (std::size_t oy = 0; oy < g.out_height; ++oy) {
          const std::size_t iy_padded = oy * g.stride + ky;
          if (iy_padded < g.padding || iy_padded - g.padding >= g.height) continue;
          const S* in = column + oy * g.out_width;
          S* out = plane + (iy_padded - g.padding) * g.width;
          for (std::size_t ox = 0; ox < g.out_width; ++ox) {
            const std::size_t ix_padded = ox * g.stride + kx;
            if (ix_padded >= g.padding && ix_padded - g.padding < g.width)
              out[ix_padded - g.padding] += in[ox];
          }
        }
      }
}

}  // namespace agd::cpu
