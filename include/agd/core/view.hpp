// The one currency between a network and its layer kernels: a column-major block of a buffer,
// as a raw pointer and its sizes. A batch is stored as columns (a d x n block holds n samples,
// one per column) with the buffer's leading dimension `stride` between columns, so a block of
// samples is a pointer offset and the same view works on the host and on a device. Views do
// not own; the network's buffers, sized once from its type, do.
//
// A column of an image batch is in CHW order (core/shape.hpp) unless its view says otherwise:
// the CPU backend on oneDNN keeps the activations between its image layers in the blocked
// layout that oneDNN's convolutions run fastest on (NCHW16c with AVX-512, NCHW8c with AVX2), and
// a view carries that layout so that a kernel which accepts it (core/kernel.hpp) reads it right.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "agd/core/host_device.hpp"

namespace agd {

/// How the values of one column (one sample) are ordered. block == 1: CHW, the order of the
/// public API. block > 1: the `channels` channels in groups of `block` with the group innermost
/// (oneDNN's nChw16c for block 16): channel c of pixel p is at ((c / block) * plane + p) * block
/// + c % block, where plane = rows / channels. Only whole groups are blocked (channels is a
/// multiple of block), so a column holds exactly the same number of values either way.
/// Which pass of a network begins (Backend::begin_pass): a backend may prepare for it, e.g.
/// convert the weights that the same kind of pass read last time.
enum class pass_kind : std::uint8_t { forward = 0, backward = 1 };

struct channel_layout {
  std::uint32_t block = 1;
  std::uint32_t channels = 0;

  AGD_HOST_DEVICE constexpr bool blocked() const { return block > 1; }
  /// Where channel c of pixel p lies in a column with `plane` pixels per channel.
  AGD_HOST_DEVICE constexpr std::size_t offset(std::size_t c, std::size_t p,
                                               std::size_t plane) const {
    return block == 1 ? c * plane + p : ((c / block) * plane + p) * block + c % block;
  }
  constexpr bool operator==(const channel_layout&) const = default;
};

template <class T>
struct matrix_view {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t stride = 0;   // distance between the starts of two columns (>= rows)
  channel_layout layout{};  // the order of a column's values (CHW unless blocked)

  constexpr matrix_view() = default;
  AGD_HOST_DEVICE constexpr matrix_view(T* data_, std::size_t rows_, std::size_t cols_,
                                        std::size_t stride_, channel_layout layout_ = {})
      : data(data_), rows(rows_), cols(cols_), stride(stride_), layout(layout_) {}
  /// A read-only view of a writable block.
  template <class U>
  requires std::is_same_v<T, const U> AGD_HOST_DEVICE constexpr matrix_view(
      const matrix_view<U>& other)
      : data(other.data),
        rows(other.rows),
        cols(other.cols),
        stride(other.stride),
        layout(other.layout) {}

  AGD_HOST_DEVICE constexpr T* column(std::size_t j) const { return data + j * stride; }
  AGD_HOST_DEVICE constexpr T& operator()(std::size_t i, std::size_t j) const {
    return data[j * stride + i];
  }
  AGD_HOST_DEVICE constexpr std::size_t size() const { return rows * cols; }
  /// Columns [first, first + count).
  constexpr matrix_view middle_cols(std::size_t first, std::size_t count) const {
    return {data + first * stride, rows, count, stride, layout};
  }
  /// Rows [first, first + count) of every column. In a blocked layout, a block of whole channel
  /// groups: rows first .. first + count must start and end on a group (the layout's `channels`
  /// becomes the block's).
  constexpr matrix_view middle_rows(std::size_t first, std::size_t count) const {
    channel_layout part = layout;
    if (rows > 0 && layout.channels > 0)
      part.channels = std::uint32_t(count / (rows / layout.channels));
    return {data + first, count, cols, stride, part};
  }
  /// True when the columns follow each other with no gap (the block is one flat array).
  constexpr bool contiguous() const { return stride == rows || cols <= 1; }
};

/// A contiguous rows x cols matrix at `data`.
template <class T>
constexpr matrix_view<T> dense_view(T* data, std::size_t rows, std::size_t cols) {
  return {data, rows, cols, rows};
}

}  // namespace agd
