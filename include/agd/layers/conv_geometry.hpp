// The geometry of a K x K convolution with stride S and zero padding P over a C x H x W image
// (CHW order, core/shape.hpp), and the index map every backend's im2col/im2row follows.
//
// The patch matrix R of one image is (Ho*Wo) x (K*K*C): row p holds the input patch under output
// position p, with column index (ky * K + kx) * C + c. Then, with W the Cout x (K*K*C) weight,
//   Y (Ho*Wo x Cout) = R W^T,   dW = dY^T R,   dR = dY W,   dX = the adjoint of im2row on dR.
// Ordering the columns slice by slice makes each (ky, kx) slice of the kernel, the Cout x C
// matrix that AGD's Appendix B normalises on its own, a contiguous block of W (its columns
// (ky*K+kx)*C .. +C), and Y's column o is output channel o's plane, so Y is already the CHW
// output of the sample.
#pragma once

#include <cstddef>

#include "agd/core/host_device.hpp"

namespace agd {

struct conv_geometry {
  std::size_t channels, height, width;  // input C x H x W
  std::size_t kernel, stride, padding;
  std::size_t out_height, out_width;

  AGD_HOST_DEVICE constexpr std::size_t positions() const { return out_height * out_width; }
  AGD_HOST_DEVICE constexpr std::size_t patch() const { return kernel * kernel * channels; }
  AGD_HOST_DEVICE constexpr std::size_t image_size() const { return channels * height * width; }

  /// The image entry that entry (p, q) of R copies (p the output position, q the patch column),
  /// or `image_size()` where the patch overlaps the zero padding.
  AGD_HOST_DEVICE constexpr std::size_t pixel_of(std::size_t p, std::size_t q) const {
    const std::size_t oy = p / out_width, ox = p % out_width;
    const std::size_t slice = q / channels, c = q % channels;
    const std::size_t ky = slice / kernel, kx = slice % kernel;
    // Padded coordinates iy + P = oy * S + ky, tested without going negative.
    const std::size_t iy_padded = oy * stride + ky, ix_padded = ox * stride + kx;
    if (iy_padded < padding || iy_padded - padding >= height || ix_padded < padding ||
        ix_padded - padding >= width)
      return image_size();
    return (c * height + iy_padded - padding) * width + ix_padded - padding;
  }

  /// For the adjoint: the input pixel (c, iy, ix) appears in R at (p, q) for every (ky, kx) with
  /// oy * S + ky = iy + P (and likewise for x) inside the output. Calls visit(p, q) for each.
  template <class Visit>
  AGD_HOST_DEVICE constexpr void for_each_use(std::size_t pixel, Visit&& visit) const {
    const std::size_t c = pixel / (height * width);
    const std::size_t iy = (pixel % (height * width)) / width, ix = pixel % width;
    for (std::size_t ky = 0; ky < kernel; ++ky) {
      const std::size_t y_padded = iy + padding;
      if (y_padded < ky || (y_padded - ky) % stride != 0) continue;
      const std::size_t oy = (y_padded - ky) / stride;
      if (oy >= out_height) continue;
      for (std::size_t kx = 0; kx < kernel; ++kx) {
        const std::size_t x_padded = ix + padding;
        if (x_padded < kx || (x_padded - kx) % stride != 0) continue;
        const std::size_t ox = (x_padded - kx) / stride;
        if (ox >= out_width) continue;
        visit(oy * out_width + ox, (ky * kernel + kx) * channels + c);
      }
    }
  }
};

}  // namespace agd
