// The one currency between a network and its layer kernels: a column-major block of a buffer,
// as a raw pointer and its sizes. A batch is stored as columns (a d x n block holds n samples,
// one per column) with the buffer's leading dimension `stride` between columns, so a block of
// samples is a pointer offset and the same view works on the host and on a device. Views do
// not own; the network's buffers, sized once from its type, do.
#pragma once

#include <cstddef>
#include <type_traits>

#include "agd/core/host_device.hpp"

namespace agd {

template <class T>
struct matrix_view {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t stride = 0;  // distance between the starts of two columns (>= rows)

  constexpr matrix_view() = default;
  AGD_HOST_DEVICE constexpr matrix_view(T* data_, std::size_t rows_, std::size_t cols_,
                                        std::size_t stride_)
      : data(data_), rows(rows_), cols(cols_), stride(stride_) {}
  /// A read-only view of a writable block.
  template <class U>
  requires std::is_same_v<T, const U> AGD_HOST_DEVICE constexpr matrix_view(
      const matrix_view<U>& other)
      : data(other.data), rows(other.rows), cols(other.cols), stride(other.stride) {}

  AGD_HOST_DEVICE constexpr T* column(std::size_t j) const { return data + j * stride; }
  AGD_HOST_DEVICE constexpr T& operator()(std::size_t i, std::size_t j) const {
    return data[j * stride + i];
  }
  AGD_HOST_DEVICE constexpr std::size_t size() const { return rows * cols; }
  /// Columns [first, first + count).
  constexpr matrix_view middle_cols(std::size_t first, std::size_t count) const {
    return {data + first * stride, rows, count, stride};
  }
  /// Rows [first, first + count) of every column.
  constexpr matrix_view middle_rows(std::size_t first, std::size_t count) const {
    return {data + first, count, cols, stride};
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
