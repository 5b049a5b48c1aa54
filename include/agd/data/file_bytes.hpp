// Reading a whole file into memory, shared by the readers of data files (IDX, CIFAR). Each
// reader wraps failures in its own error type, naming the file and what to do.
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace agd::data::detail {

/// Appends everything left in `stream` to `bytes`; returns 0, or the errno of a failed read.
inline int append_stream_bytes(std::FILE* stream, std::vector<std::uint8_t>& bytes) {
  std::array<std::uint8_t, 1 << 16> chunk{};
  for (;;) {
    const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), stream);
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
    if (got < chunk.size()) break;
  }
  return std::ferror(stream) != 0 ? (errno != 0 ? errno : EIO) : 0;
}

}  // namespace agd::data::detail
