// Reader and writer for the IDX format used by MNIST and Fashion-MNIST.
//
// An IDX file is a 4-byte magic number (two zero bytes, an element type code, the rank), then one
// big-endian uint32 per dimension, then the elements in row-major order. The distributed files
// are gzip-compressed, so the reader recognises the gzip magic bytes and inflates with zlib.
//
// Only the unsigned-byte element type (0x08) is supported: it is the only one the datasets use,
// and supporting it alone keeps the element storage a plain byte vector.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "agd/data/file_bytes.hpp"

namespace agd::data {

// Thrown for any problem reading an IDX file. The message always names the file, says what is
// wrong with it and what to do, because the usual cause is a bad download or a wrong path and the
// person running a training job needs to fix that without reading this code.
class idx_error : public std::runtime_error {
 public:
  idx_error(const std::filesystem::path& file, const std::string& problem)
      : std::runtime_error("agd: cannot read IDX file '" + file.string() + "': " + problem),
        file_(file) {}

  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
};

// An unsigned-byte IDX array: dims[0] is the slowest-varying dimension (e.g. the sample index),
// data holds the elements in row-major order.
struct idx_array {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;

  // Number of elements the dims describe (1 for rank 0, which IDX files never have).
  std::size_t size() const {
    std::size_t elements = 1;
    for (const std::uint32_t dim : dims) elements *= dim;
    return elements;
  }
};

namespace detail {

inline constexpr std::uint8_t idx_unsigned_byte_type = 0x08;
inline constexpr std::size_t idx_max_rank = 4;
inline constexpr std::size_t idx_magic_bytes = 4;

inline std::string errno_text(int error_number) {
  return std::generic_category().message(error_number);
}

// Names the IDX element types so an unsupported one can be reported by what it is.
inline const char* idx_type_name(std::uint8_t type_code) {
  switch (type_code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "not a type defined by the IDX format";
  }
}

inline std::string hex_byte(std::uint8_t value) {
  constexpr char digits[] = "0123456789ABCDEF";
  return std::string{'0', 'x', digits[value >> 4], digits[value & 0x0F]};
}

inline std::string join_dims(const std::vector<std::uint32_t>& dims) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += 'x';
    text += std::to_string(dims[i]);
  }
  return text;
}

inline bool has_gzip_magic(const std::vector<std::uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
}

// Reads the whole file. fopen/fread rather than iostreams so that errno names the reason.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& file) {
  std::error_code status_error;
  if (std::filesystem::is_directory(file, status_error)) {
    throw idx_error(file, "it is a directory, not a file; pass the path of the IDX file itself");
  }
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (stream == nullptr) {
    const int open_errno = errno;
    throw idx_error(file, errno_text(open_errno) + "; check that the path is right and readable");
  }
  std::vector<std::uint8_t> bytes;
  const int read_errno = detail::append_stream_bytes(stream, bytes);
  std::fclose(stream);
  if (read_errno != 0) {
    throw idx_error(file, "read failed: " + errno_text(read_errno) + "; check the disk and path");
  }
  return bytes;
}

// Inflates a gzip file held in memory, as far as it is asked to: inflate_until(out, limit)
// appends decompressed bytes to `out` until it holds `limit` bytes or the stream ends, so a
// reader that knows how much it needs (the IDX header declares it) never inflates more, whatever
// the file holds: a small file of a few megabytes can decompress to gigabytes. Concatenated gzip
// members (which gzip itself accepts) are decoded one after another; anything else after the last
// member is an error, since a reader that silently ignored it could hide a damaged file.
class gzip_inflater {
 public:
  gzip_inflater(const std::filesystem::path& file, const std::vector<std::uint8_t>& compressed)
      : file_(file), compressed_(compressed) {
    // 16 + MAX_WBITS: expect a gzip wrapper (not zlib or raw deflate).
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
      throw idx_error(file_, "zlib could not initialise (" +
                                 std::string(stream_.msg ? stream_.msg : "out of memory?") +
                                 "); check the zlib installation");
    }
  }
  gzip_inflater(const gzip_inflater&) = delete;
  gzip_inflater& operator=(const gzip_inflater&) = delete;
  ~gzip_inflater() { inflateEnd(&stream_); }

  // Whether the last gzip member has ended (everything the file holds has been inflated).
  bool ended() const { return ended_; }

  void inflate_until(std::vector<std::uint8_t>& out, std::size_t limit) {
    // zlib's counters are 32-bit, so feed input and take output in bounded pieces.
    constexpr std::size_t piece = std::size_t{1} << 20;
    while (!ended_ && out.size() < limit) {
      if (stream_.avail_in == 0 && consumed_ < compressed_.size()) {
        const std::size_t feed = std::min(piece, compressed_.size() - consumed_);
        // zlib's API takes a non-const pointer but never writes through next_in.
        stream_.next_in = const_cast<Bytef*>(compressed_.data() + consumed_);
        stream_.avail_in = static_cast<uInt>(feed);
        consumed_ += feed;
      }
      const std::size_t before = out.size();
      const std::size_t room = std::min(piece, limit - before);
      out.resize(before + room);
      stream_.next_out = out.data() + before;
      stream_.avail_out = static_cast<uInt>(room);
      const int result = inflate(&stream_, Z_NO_FLUSH);
      out.resize(before + room - stream_.avail_out);
      total_ += room - stream_.avail_out;

      if (result == Z_STREAM_END) {
        const std::size_t remaining = stream_.avail_in + (compressed_.size() - consumed_);
        if (remaining == 0) {
          ended_ = true;
          break;
        }
        const std::size_t next_member = compressed_.size() - remaining;
        if (remaining >= 2 && compressed_[next_member] == 0x1F &&
            compressed_[next_member + 1] == 0x8B) {
          inflateReset(&stream_);
          continue;
        }
        throw idx_error(file_, std::to_string(remaining) +
                                   " bytes of trailing garbage after the gzip stream; the file is "
                                   "damaged, fetch it again");
      }
      if (result == Z_OK) continue;
      if (result == Z_BUF_ERROR && stream_.avail_in == 0 && consumed_ == compressed_.size()) {
        throw idx_error(file_,
                        "truncated gzip stream: the compressed data ends before the end of the "
                        "gzip stream (after " +
                            std::to_string(total_) +
                            " decompressed bytes); the download was probably interrupted, fetch "
                            "the file again");
      }
      const std::string zlib_message = stream_.msg ? stream_.msg : zError(result);
      throw idx_error(file_, "corrupt gzip stream (zlib: " + zlib_message +
                                 "); the file is damaged, fetch it again");
    }
  }

 private:
  const std::filesystem::path& file_;
  const std::vector<std::uint8_t>& compressed_;
  z_stream stream_{};
  std::size_t consumed_ = 0;  // compressed bytes handed to zlib
  std::size_t total_ = 0;     // decompressed bytes produced
  bool ended_ = false;
};

inline std::uint32_t read_big_endian_u32(const std::uint8_t* bytes) {
  return std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
         std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
}

}  // namespace detail

// Reads an unsigned-byte IDX file, raw or gzip-compressed (recognised by its content, not its
// name). expected_rank, when given, rejects e.g. a label file passed where images are expected.
// Throws idx_error on any problem; the data is only returned when the header and size agree
// exactly.
inline idx_array parse_idx(std::vector<std::uint8_t> bytes, const std::filesystem::path& file,
                           std::optional<std::size_t> expected_rank = {});

inline idx_array read_idx(const std::filesystem::path& file,
                          std::optional<std::size_t> expected_rank = {}) {
  return parse_idx(detail::read_file_bytes(file), file, expected_rank);
}

// The same checks on bytes already in memory (what read_idx and the fuzz target call); `file`
// only names the source in error messages.
inline idx_array parse_idx(std::vector<std::uint8_t> bytes, const std::filesystem::path& file,
                           std::optional<std::size_t> expected_rank) {
  const bool compressed = detail::has_gzip_magic(bytes);
  const std::string holder = compressed ? "the decompressed file" : "the file";
  // A gzip file is inflated step by step, each step only as far as the checks need: the magic
  // number, the header, then the data the header declares and one byte more (to tell "more"
  // from "exactly"). A file that decompresses to more than it declares (a gzip bomb: megabytes
  // holding gigabytes) is refused after those bytes, before it can fill the memory.
  std::vector<std::uint8_t> gzip_bytes;
  std::optional<detail::gzip_inflater> inflater;
  if (compressed) {
    gzip_bytes = std::move(bytes);
    bytes = {};
    inflater.emplace(file, gzip_bytes);
  }
  const auto inflate_until = [&](std::size_t size) {
    if (inflater) inflater->inflate_until(bytes, size);
  };

  inflate_until(detail::idx_magic_bytes);
  if (bytes.size() < detail::idx_magic_bytes) {
    throw idx_error(file, "truncated: " + holder + " holds only " + std::to_string(bytes.size()) +
                              " bytes, fewer than the 4-byte magic number; fetch the file again");
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    throw idx_error(file, "bad magic number: it starts with bytes " + detail::hex_byte(bytes[0]) +
                              " " + detail::hex_byte(bytes[1]) +
                              " but an IDX file starts with two zero bytes; this is not an IDX "
                              "file (check the path, or whether the download is an error page)");
  }
  const std::uint8_t type_code = bytes[2];
  if (type_code != detail::idx_unsigned_byte_type) {
    throw idx_error(file, "element type code " + detail::hex_byte(type_code) + " (" +
                              detail::idx_type_name(type_code) +
                              ") in the magic number is not supported: only unsigned byte (0x08) "
                              "is supported, as used by MNIST and Fashion-MNIST");
  }
  const std::size_t rank = bytes[3];
  if (rank < 1 || rank > detail::idx_max_rank) {
    throw idx_error(file, "rank " + std::to_string(rank) +
                              " in the magic number is outside 1..4; the file is corrupt or not "
                              "an IDX file, fetch it again");
  }
  const std::size_t header_bytes = detail::idx_magic_bytes + 4 * rank;
  inflate_until(header_bytes);
  if (bytes.size() < header_bytes) {
    throw idx_error(file, "truncated: the rank-" + std::to_string(rank) + " header needs " +
                              std::to_string(header_bytes) + " bytes but " + holder +
                              " holds only " + std::to_string(bytes.size()) +
                              "; the download was probably interrupted, fetch the file again");
  }

  idx_array array;
  array.dims.reserve(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    array.dims.push_back(
        detail::read_big_endian_u32(bytes.data() + detail::idx_magic_bytes + 4 * d));
  }
  const std::string shape = detail::join_dims(array.dims);
  if (expected_rank && *expected_rank != rank) {
    throw idx_error(file, "rank " + std::to_string(rank) + " (shape " + shape + ") but rank " +
                              std::to_string(*expected_rank) +
                              " was expected; check that the right file was passed (images are "
                              "rank 3, labels rank 1)");
  }
  std::size_t declared = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    if (array.dims[d] == 0) {
      throw idx_error(file, "dimension " + std::to_string(d) + " of shape " + shape +
                                " is zero, so the array is empty; the file is corrupt, fetch it "
                                "again");
    }
    if (declared > std::numeric_limits<std::size_t>::max() / array.dims[d]) {
      throw idx_error(file, "shape " + shape +
                                " has more elements than fit in memory addresses (size_t "
                                "overflow); the header is corrupt, fetch the file again");
    }
    declared *= array.dims[d];
  }

  if (inflater) {
    constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
    const std::size_t whole = declared <= most - header_bytes ? header_bytes + declared : most;
    // Deflate expands by at most about 1032x, so a header declaring more than that of the file
    // cannot be true: reserve no more than the file can hold.
    const std::size_t can_hold = gzip_bytes.size() <= most / 1032 ? 1032 * gzip_bytes.size() : most;
    bytes.reserve(std::min(whole, can_hold));
    inflate_until(whole < most ? whole + 1 : most);
    if (bytes.size() > whole) {
      throw idx_error(file, "the gzip stream decompresses to more than its header declares (" +
                                shape + " = " + std::to_string(declared) +
                                " data bytes after the " + std::to_string(header_bytes) +
                                "-byte header): decompression stopped after " +
                                std::to_string(bytes.size()) +
                                " bytes rather than inflate the rest; the file is corrupt or not "
                                "what it claims to be, fetch it again");
    }
  }

  const std::size_t available = bytes.size() - header_bytes;
  if (available < declared) {
    throw idx_error(file, "truncated: header declares " + shape + " = " + std::to_string(declared) +
                              " data bytes but " + holder + " holds only " +
                              std::to_string(available) + " after the " +
                              std::to_string(header_bytes) +
                              "-byte header; the download was probably interrupted, fetch the "
                              "file again");
  }
  if (available > declared) {
    throw idx_error(file, std::to_string(available - declared) +
                              " unexpected bytes after the data: header declares " + shape + " = " +
                              std::to_string(declared) + " data bytes but " + holder + " holds " +
                              std::to_string(available) + " after the " +
                              std::to_string(header_bytes) +
                              "-byte header; the file is corrupt, fetch it again");
  }

  // Drop the header in place rather than copying the (possibly 47 MB) payload.
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header_bytes));
  array.data = std::move(bytes);
  return array;
}

// Serialises an array to IDX bytes (magic, big-endian dims, data). Throws std::invalid_argument
// if the array is not something read_idx would accept, so tests cannot write a bad file by
// accident; tests that want a bad file edit the returned bytes.
inline std::vector<std::uint8_t> encode_idx(const idx_array& array) {
  if (array.dims.empty() || array.dims.size() > detail::idx_max_rank) {
    throw std::invalid_argument("agd: encode_idx: rank " + std::to_string(array.dims.size()) +
                                " is outside 1..4, which the IDX format allows");
  }
  if (array.size() != array.data.size()) {
    throw std::invalid_argument("agd: encode_idx: shape " + detail::join_dims(array.dims) +
                                " has " + std::to_string(array.size()) + " elements but data has " +
                                std::to_string(array.data.size()));
  }
  std::vector<std::uint8_t> bytes;
  bytes.reserve(detail::idx_magic_bytes + 4 * array.dims.size() + array.data.size());
  bytes.push_back(0);
  bytes.push_back(0);
  bytes.push_back(detail::idx_unsigned_byte_type);
  bytes.push_back(static_cast<std::uint8_t>(array.dims.size()));
  for (const std::uint32_t dim : array.dims) {
    bytes.push_back(static_cast<std::uint8_t>(dim >> 24));
    bytes.push_back(static_cast<std::uint8_t>(dim >> 16));
    bytes.push_back(static_cast<std::uint8_t>(dim >> 8));
    bytes.push_back(static_cast<std::uint8_t>(dim));
  }
  bytes.insert(bytes.end(), array.data.begin(), array.data.end());
  return bytes;
}

// Writes bytes to a file, gzip-compressed if asked. Throws std::runtime_error naming the file.
inline void write_file(const std::filesystem::path& file, std::span<const std::uint8_t> bytes,
                       bool gzip) {
  const std::string prefix = "agd: cannot write file '" + file.string() + "': ";
  if (gzip) {
    gzFile stream = gzopen(file.c_str(), "wb");
    if (stream == nullptr) {
      const int open_errno = errno;
      throw std::runtime_error(prefix + detail::errno_text(open_errno));
    }
    // gzwrite takes an unsigned length, so write in bounded pieces.
    constexpr std::size_t piece = std::size_t{1} << 20;
    for (std::size_t offset = 0; offset < bytes.size(); offset += piece) {
      const std::size_t length = std::min(piece, bytes.size() - offset);
      if (gzwrite(stream, bytes.data() + offset, static_cast<unsigned>(length)) !=
          static_cast<int>(length)) {
        int zlib_errno = Z_OK;
        const std::string message = gzerror(stream, &zlib_errno);
        gzclose(stream);
        throw std::runtime_error(prefix + "zlib: " + message);
      }
    }
    if (gzclose(stream) != Z_OK) throw std::runtime_error(prefix + "gzclose failed");
    return;
  }
  std::FILE* stream = std::fopen(file.c_str(), "wb");
  if (stream == nullptr) {
    const int open_errno = errno;
    throw std::runtime_error(prefix + detail::errno_text(open_errno));
  }
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), stream) == bytes.size();
  const int write_errno = errno;
  if (std::fclose(stream) != 0 || !written) {
    throw std::runtime_error(prefix + detail::errno_text(write_errno));
  }
}

// Writes an IDX file, raw or gzip-compressed. Used by tests to generate their own inputs.
inline void write_idx(const std::filesystem::path& file, const idx_array& array, bool gzip) {
  write_file(file, encode_idx(array), gzip);
}

}  // namespace agd::data
