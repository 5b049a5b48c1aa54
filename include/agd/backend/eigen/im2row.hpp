// im2row and its adjoint row2im on the CPU: the patch matrix R of layers/conv_geometry.hpp for
// one image, written into (and read back from) a column block of a taller matrix, so that the
// patch matrices of several samples stack into one matrix for one GEMM
// (backend/eigen/conv2d.hpp). Both walk R one row segment at a time: for a patch column
// q = (ky*K + kx)*C + c and an output row oy, the Wo entries (oy, 0..Wo) copy one input row at
// a fixed stride, except at the ends where the patch overlaps the padding. The bounds of that
// inside part depend only on kx, so the inner loop is a plain copy (a memcpy at stride 1) or a
// plain add, which is what a CPU core does fastest (the CUDA backend computes each entry's
// pixel on its own instead).
#pragma once

#include <algorithm>
#include <cstddef>

#include "agd/layers/conv_geometry.hpp"

namespace agd::eigen {

/// Walks R segment by segment, in memory order: visit(q, oy, pixel, begin, end) for every
/// patch column q and output row oy. The entries (oy, ox) with ox in [begin, end) copy the
/// image entries pixel + (ox - begin) * stride; the others lie in the padding (begin == end
/// when the whole row does). The one place that maps patches to pixels, so that im2row and its
/// adjoint cannot disagree; it computes the same map as conv_geometry::pixel_of.
template <class Visit>
void for_each_patch_segment(const conv_geometry& g, Visit visit) {
  for (std::size_t ky = 0; ky < g.kernel; ++ky)
    for (std::size_t kx = 0; kx < g.kernel; ++kx) {
      // ox is inside where P <= ox * S + kx < W + P (padded coordinates, never negative).
      const std::size_t first = kx >= g.padding ? 0 : (g.padding - kx + g.stride - 1) / g.stride;
      const std::size_t last =
          g.width + g.padding > kx
              ? std::min(g.out_width, (g.width + g.padding - kx - 1) / g.stride + 1)
              : 0;
      const std::size_t begin = std::min(first, last), end = last;
      const std::size_t column_offset = begin * g.stride + kx - (begin < end ? g.padding : 0);
      for (std::size_t c = 0; c < g.channels; ++c) {
        const std::size_t q = (ky * g.kernel + kx) * g.channels + c;
        for (std::size_t oy = 0; oy < g.out_height; ++oy) {
          const std::size_t iy_padded = oy * g.stride + ky;
          if (iy_padded < g.padding || iy_padded - g.padding >= g.height || begin == end) {
            visit(q, oy, std::size_t{0}, std::size_t{0}, std::size_t{0});
            continue;
          }
          const std::size_t pixel =
              (c * g.height + iy_padded - g.padding) * g.width + column_offset;
          visit(q, oy, pixel, begin, end);
        }
      }
    }
}

/// R of one CHW image into the P x Q column-major block at `rows` with leading dimension `ld`
/// (>= P; zeros where the patch overlaps the padding).
template <class S>
void im2row(const conv_geometry& g, const S* image, S* rows, std::size_t ld) {
  const std::size_t wo = g.out_width, stride = g.stride;
  for_each_patch_segment(
      g, [&](std::size_t q, std::size_t oy, std::size_t pixel, std::size_t begin, std::size_t end) {
        S* out = rows + q * ld + oy * wo;
        std::fill(out, out + begin, S(0));
        const S* in = image + pixel;
        if (stride == 1) {
      // A loop rather than std::copy: a segment is Wo values (often 8-32), too short for a
      // call to memmove to pay.
#pragma GCC ivdep
          for (std::size_t ox = begin; ox < end; ++ox) out[ox] = in[ox - begin];
        } else {
          for (std::size_t ox = begin; ox < end; ++ox) out[ox] = in[(ox - begin) * stride];
        }
        std::fill(out + end, out + wo, S(0));
      });
}

/// The adjoint of im2row: adds every entry of the block dR (P x Q at `rows`, leading dimension
/// `ld`) back onto the input pixel it was copied from (padding entries are dropped). `image`
/// must be zeroed (or hold what the sum should start from).
template <class S>
void row2im_add(const conv_geometry& g, const S* rows, std::size_t ld, S* image) {
  const std::size_t wo = g.out_width, stride = g.stride;
  for_each_patch_segment(
      g, [&](std::size_t q, std::size_t oy, std::size_t pixel, std::size_t begin, std::size_t end) {
        const S* in = rows + q * ld + oy * wo;
        S* out = image + pixel;
        if (stride == 1) {
#pragma GCC ivdep
          for (std::size_t ox = begin; ox < end; ++ox) out[ox - begin] += in[ox];
        } else {
          for (std::size_t ox = begin; ox < end; ++ox) out[(ox - begin) * stride] += in[ox];
        }
      });
}

}  // namespace agd::eigen
