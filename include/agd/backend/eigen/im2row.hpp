// im2row and its adjoint row2im on the CPU: the patch matrix R of layers/conv_geometry.hpp for
// one image, written (and read back) in memory order by one sequential walk, which is what a
// CPU core does fastest (the CUDA backend computes each entry's pixel on its own instead).
#pragma once

#include <cstddef>

#include "agd/layers/conv_geometry.hpp"

namespace agd::eigen {

/// Walks R (positions x patch, column-major, leading dimension positions) entry by entry, in
/// memory order, calling visit(entry, pixel, inside): `entry` indexes R, `pixel` the CHW image
/// entry it copies, and `inside` is false where the patch overlaps the zero padding. The one
/// place that maps patches to pixels, so that im2row and its adjoint cannot disagree.
template <class Visit>
void for_each_patch_entry(const conv_geometry& g, Visit visit) {
  std::size_t entry = 0;
  for (std::size_t ky = 0; ky < g.kernel; ++ky)
    for (std::size_t kx = 0; kx < g.kernel; ++kx)
      for (std::size_t c = 0; c < g.channels; ++c)
        for (std::size_t oy = 0; oy < g.out_height; ++oy) {
          // Padded coordinates: iy = oy * S + ky - P, tested without going negative.
          const std::size_t iy_padded = oy * g.stride + ky;
          const bool row_inside = iy_padded >= g.padding && iy_padded - g.padding < g.height;
          const std::size_t row =
              (c * g.height + (row_inside ? iy_padded - g.padding : 0)) * g.width;
          for (std::size_t ox = 0; ox < g.out_width; ++ox, ++entry) {
            const std::size_t ix_padded = ox * g.stride + kx;
            const bool inside =
                row_inside && ix_padded >= g.padding && ix_padded - g.padding < g.width;
            visit(entry, inside ? row + ix_padded - g.padding : 0, inside);
          }
        }
}

/// R from one CHW image (zeros where the patch overlaps the padding).
template <class S>
void im2row(const conv_geometry& g, const S* image, S* rows) {
  for_each_patch_entry(g, [&](std::size_t entry, std::size_t pixel, bool inside) {
    rows[entry] = inside ? image[pixel] : S(0);
  });
}

/// The adjoint of im2row: adds every entry of dR back onto the input pixel it was copied from
/// (padding positions are dropped). `image` must be zeroed by the caller.
template <class S>
void row2im_add(const conv_geometry& g, const S* rows, S* image) {
  for_each_patch_entry(g, [&](std::size_t entry, std::size_t pixel, bool inside) {
    if (inside) image[pixel] += rows[entry];
  });
}

}  // namespace agd::eigen
