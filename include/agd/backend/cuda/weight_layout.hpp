// The shapes the GPU side needs from a network type, without Eigen: every weight tensor's rows,
// columns, AGD slices (Appendix B: 1 for a dense layer, K*K for a K x K convolution) and scale.
// Device code takes this (nvcc never sees the CPU backend's headers); layout_of<Net>() fills it
// from a network type on the host.
#pragma once

#include <array>
#include <cstddef>

namespace agd::cuda {

template <std::size_t Depth>
struct weight_layout {
  std::array<std::size_t, Depth> rows{};
  std::array<std::size_t, Depth> cols{};
  std::array<std::size_t, Depth> slices{};
  std::array<double, Depth> scales{};

  static constexpr std::size_t depth = Depth;
  constexpr std::size_t size(std::size_t k) const { return rows[k] * cols[k]; }
  constexpr std::size_t parameter_count() const {
    std::size_t n = 0;
    for (std::size_t k = 0; k < Depth; ++k) n += size(k);
    return n;
  }
  constexpr std::size_t slice_count() const {
    std::size_t n = 0;
    for (std::size_t k = 0; k < Depth; ++k) n += slices[k];
    return n;
  }
  /// Where tensor k starts in a flat buffer holding every weight one after the other.
  constexpr std::size_t offset(std::size_t k) const {
    std::size_t n = 0;
    for (std::size_t j = 0; j < k; ++j) n += size(j);
    return n;
  }
};

/// The layout of a network type (agd::basic_sequential), for the host side.
template <class Net>
constexpr weight_layout<Net::depth> layout_of() {
  return {Net::weight_rows, Net::weight_cols, Net::weight_slices, Net::agd_scales};
}

}  // namespace agd::cuda
