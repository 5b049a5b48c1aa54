// How a parallel region divides work: thread `index` of `count` takes one contiguous part of
// [0, n). Backend-neutral, so that the network walks its layers the same way on every backend
// (the CUDA backend runs one "thread" that takes everything).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

namespace agd {

/// [begin, begin + size) of the part of [0, n) that thread `index` of `count` takes; parts differ
/// by at most `granule` and start at multiples of it (16 floats = one AVX-512 register).
inline std::pair<std::ptrdiff_t, std::ptrdiff_t> split_range(std::ptrdiff_t n, unsigned index,
                                                             unsigned count,
                                                             std::ptrdiff_t granule = 1) {
  const std::ptrdiff_t units = (n + granule - 1) / granule;
  const std::ptrdiff_t base = units / count, extra = units % count;
  const std::ptrdiff_t first_unit =
      std::ptrdiff_t(index) * base + std::min<std::ptrdiff_t>(index, extra);
  const std::ptrdiff_t unit_count = base + (std::ptrdiff_t(index) < extra ? 1 : 0);
  const std::ptrdiff_t begin = std::min(n, first_unit * granule);
  const std::ptrdiff_t end = std::min(n, (first_unit + unit_count) * granule);
  return {begin, end - begin};
}

}  // namespace agd
