// Reader for the binary versions of CIFAR-10 and CIFAR-100 and the random-crop /
// horizontal-flip augmentation used for them in the AGD paper's experiments (their per-channel
// standardisation is in preprocessing.hpp, included here).
//
// A CIFAR-10 record is 1 label byte then 3072 pixel bytes; a CIFAR-100 record is 2 label bytes
// (coarse, then fine) then 3072 pixel bytes. The pixels are 1024 red, then 1024 green, then 1024
// blue, each plane 32x32 in row-major order. Files have no header: a file is records back to back.
//   CIFAR-10:  data_batch_1.bin .. data_batch_5.bin (10000 records each), test_batch.bin (10000),
//              extracted from cifar-10-binary.tar.gz into cifar-10-batches-bin/.
//   CIFAR-100: train.bin (50000 records), test.bin (10000),
//              extracted from cifar-100-binary.tar.gz into cifar-100-binary/.
//
// The reader keeps the file's channel-major (C, H, W) order in each input column, so pixel
// (c, r, k) of sample j is inputs(c*1024 + r*32 + k, j), with values pixel/255 in [0, 1].
#pragma once

#include <Eigen/Core>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "agd/data/batches.hpp"
#include "agd/data/dataset.hpp"
#include "agd/data/file_bytes.hpp"
// channel_standardisation, compute_channel_standardisation and apply(channel_standardisation)
// were defined here; they are in preprocessing.hpp, and come with this header as before.
#include "agd/data/preprocessing.hpp"

namespace agd::data {

// Which file format is read and which label becomes the class: CIFAR-100 records carry a coarse
// label (20 superclasses) and a fine label (100 classes).
enum class cifar_kind { cifar10, cifar100_fine, cifar100_coarse };

namespace detail {

inline constexpr std::size_t cifar_channels = 3;
inline constexpr std::size_t cifar_height = 32;
inline constexpr std::size_t cifar_width = 32;
inline constexpr std::size_t cifar_pixels = cifar_channels * cifar_height * cifar_width;  // 3072

inline bool is_cifar100(cifar_kind kind) {
  return kind != cifar_kind::cifar10;
}

inline std::size_t cifar_label_bytes(cifar_kind kind) {
  return is_cifar100(kind) ? 2 : 1;
}

inline std::size_t cifar_record_bytes(cifar_kind kind) {
  return cifar_label_bytes(kind) + cifar_pixels;
}

inline int cifar_classes(cifar_kind kind) {
  switch (kind) {
    case cifar_kind::cifar10:
      return 10;
    case cifar_kind::cifar100_fine:
      return 100;
    case cifar_kind::cifar100_coarse:
      return 20;
  }
  return 10;
}

inline std::string cifar_kind_name(cifar_kind kind) {
  switch (kind) {
    case cifar_kind::cifar10:
      return "CIFAR-10";
    case cifar_kind::cifar100_fine:
      return "CIFAR-100 (fine labels)";
    case cifar_kind::cifar100_coarse:
      return "CIFAR-100 (coarse labels)";
  }
  return "CIFAR";
}

inline std::string cifar_problem(cifar_kind kind, const std::string& source_name,
                                 const std::string& problem) {
  return "agd: cannot read " + cifar_kind_name(kind) + " file '" + source_name + "': " + problem;
}

// Checks that `size` bytes are a non-empty whole number of records of `kind` and returns how many.
inline std::size_t cifar_record_count(std::size_t size, cifar_kind kind,
                                      const std::string& source_name) {
  const std::size_t record = cifar_record_bytes(kind);
  if (size == 0) {
    throw dataset_error(cifar_problem(
        kind, source_name,
        "the file is empty (0 bytes); the download or extraction was probably interrupted, fetch "
        "and extract the archive again"));
  }
  if (size % record == 0) return size / record;

  std::string problem = "its size, " + std::to_string(size) + " bytes, is not a whole number of " +
                        std::to_string(record) + "-byte " + cifar_kind_name(kind) + " records (" +
                        std::to_string(size / record) + " records and " +
                        std::to_string(size % record) + " bytes over)";
  const std::size_t other_record = is_cifar100(kind)
                                       ? cifar_record_bytes(cifar_kind::cifar10)
                                       : cifar_record_bytes(cifar_kind::cifar100_fine);
  if (size % other_record == 0) {
    problem += "; it is exactly " + std::to_string(size / other_record) + " " +
               std::to_string(other_record) + "-byte " +
               (is_cifar100(kind) ? std::string("CIFAR-10 records, so it is probably a CIFAR-10 "
                                                "file: read it with cifar_kind::cifar10")
                                  : std::string("CIFAR-100 records, so it is probably a CIFAR-100 "
                                                "file: read it with cifar_kind::cifar100_fine or "
                                                "cifar_kind::cifar100_coarse"));
  } else {
    problem +=
        "; the download was probably truncated (fetch and extract the archive again), or the file "
        "is not a " +
        cifar_kind_name(kind) + " binary file (check the cifar_kind, and that it is the binary " +
        "version, not the Python or MATLAB one)";
  }
  throw dataset_error(cifar_problem(kind, source_name, problem));
}

// Checks every label of `count` records; the size must already have been checked.
inline void check_cifar_labels(std::span<const std::uint8_t> bytes, std::size_t count,
                               cifar_kind kind, const std::string& source_name) {
  const std::size_t record = cifar_record_bytes(kind);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* labels = bytes.data() + i * record;
    const auto report = [&](const std::string& label_name, std::uint8_t value, int limit) {
      throw dataset_error(cifar_problem(
          kind, source_name,
          "record " + std::to_string(i) + " (byte offset " + std::to_string(i * record) + ") has " +
              label_name + " " + std::to_string(value) + ", but " + label_name +
              "s must be below " + std::to_string(limit) +
              "; the file is corrupt (fetch it again) or not a " + cifar_kind_name(kind) +
              " file (check the cifar_kind)"));
    };
    if (is_cifar100(kind)) {
      // Both labels are checked whichever is used: either out of range means a bad record.
      if (labels[0] >= 20) report("coarse label", labels[0], 20);
      if (labels[1] >= 100) report("fine label", labels[1], 100);
    } else if (labels[0] >= 10) {
      report("label", labels[0], 10);
    }
  }
}

// Decodes `count` checked records into columns [first_column, first_column + count) of
// out.inputs and entries of out.labels, both already sized.
inline void decode_cifar_records(std::span<const std::uint8_t> bytes, std::size_t count,
                                 cifar_kind kind, dataset& out, std::size_t first_column) {
  const std::size_t record = cifar_record_bytes(kind);
  const std::size_t label_offset = kind == cifar_kind::cifar100_fine ? 1 : 0;
  for (std::size_t i = 0; i < count; ++i) {
    out.labels[first_column + i] = bytes[i * record + label_offset];
  }
  if (count == 0) return;
  // The pixels of record i start after its labels, `record` bytes after those of record i - 1:
  // a column-major byte matrix with an outer stride of one record.
  using byte_matrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const byte_matrix, Eigen::Unaligned, Eigen::OuterStride<>> pixels(
      bytes.data() + cifar_label_bytes(kind), static_cast<Eigen::Index>(cifar_pixels),
      static_cast<Eigen::Index>(count), Eigen::OuterStride<>(static_cast<Eigen::Index>(record)));
  out.inputs.middleCols(static_cast<Eigen::Index>(first_column), static_cast<Eigen::Index>(count)) =
      pixels.cast<float>() / 255.0f;
}

// Reads a whole file; fopen/fread rather than iostreams so that errno names the reason.
// Throws dataset_error, checking the size for `kind` before reading anything.
inline std::vector<std::uint8_t> read_cifar_bytes(const std::filesystem::path& file,
                                                  cifar_kind kind) {
  const std::string name = file.string();
  std::error_code status_error;
  if (std::filesystem::is_directory(file, status_error)) {
    throw dataset_error(cifar_problem(
        kind, name,
        "it is a directory, not a file; pass the path of a .bin file, or use load_cifar for the "
        "directory"));
  }
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (stream == nullptr) {
    const int open_errno = errno;
    throw dataset_error(cifar_problem(
        kind, name, errno_text(open_errno) + "; check that the path is right and readable"));
  }
  std::vector<std::uint8_t> bytes;
  // Check the size first so that a wrong multi-gigabyte file is not read only to be rejected.
  const std::uintmax_t size = std::filesystem::file_size(file, status_error);
  if (!status_error && size <= std::numeric_limits<std::size_t>::max()) {
    try {
      cifar_record_count(static_cast<std::size_t>(size), kind, name);
      bytes.reserve(static_cast<std::size_t>(size));
    } catch (...) {
      std::fclose(stream);
      throw;
    }
  }
  const int read_errno = detail::append_stream_bytes(stream, bytes);
  std::fclose(stream);
  if (read_errno != 0) {
    throw dataset_error(cifar_problem(
        kind, name, "read failed: " + errno_text(read_errno) + "; check the disk and the path"));
  }
  return bytes;
}

}  // namespace detail

// Parses CIFAR records held in memory; source_name only labels error messages. Throws
// dataset_error, and nothing else short of std::bad_alloc, for any input: an empty input, a size
// that is not a whole number of records, or a label out of range. Memory use is bounded by about
// four times the input size.
inline dataset parse_cifar(std::span<const std::uint8_t> bytes, cifar_kind kind,
                           const std::string& source_name) {
  const std::size_t count = detail::cifar_record_count(bytes.size(), kind, source_name);
  detail::check_cifar_labels(bytes, count, kind, source_name);
  dataset result;
  result.classes = detail::cifar_classes(kind);
  result.labels.resize(count);
  result.inputs.resize(static_cast<Eigen::Index>(detail::cifar_pixels),
                       static_cast<Eigen::Index>(count));
  detail::decode_cifar_records(bytes, count, kind, result, 0);
  return result;
}

// Reads one CIFAR binary file (e.g. data_batch_1.bin, test_batch.bin, train.bin). Throws
// dataset_error naming the file and the problem.
inline dataset read_cifar_file(const std::filesystem::path& file, cifar_kind kind) {
  const std::vector<std::uint8_t> bytes = detail::read_cifar_bytes(file, kind);
  return parse_cifar(bytes, kind, file.string());
}

namespace detail {

inline std::vector<std::string> cifar_file_names(split which, cifar_kind kind) {
  if (is_cifar100(kind)) return {which == split::train ? "train.bin" : "test.bin"};
  if (which == split::test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int batch = 1; batch <= 5; ++batch) {
    names.push_back("data_batch_" + std::to_string(batch) + ".bin");
  }
  return names;
}

inline std::string cifar_subdirectory(cifar_kind kind) {
  return is_cifar100(kind) ? "cifar-100-binary" : "cifar-10-batches-bin";
}

inline std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += ", ";
    text += names[i];
  }
  return text;
}

// The files of one split: in dir itself or in the directory the archive extracts to.
inline std::vector<std::filesystem::path> find_cifar_files(const std::filesystem::path& dir,
                                                           split which, cifar_kind kind) {
  namespace fs = std::filesystem;
  const std::vector<std::string> names = cifar_file_names(which, kind);
  const std::string subdirectory = cifar_subdirectory(kind);
  const bool ten = !is_cifar100(kind);
  const std::string dataset_name = ten ? "CIFAR-10" : "CIFAR-100";
  const std::string archive = ten ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz";
  const std::string fix = "; download " + archive + " (the binary version) from " +
                          "https://www.cs.toronto.edu/~kriz/ and extract it with `tar xzf " +
                          archive + " -C DIR`, then pass DIR (or DIR/" + subdirectory + ")";

  std::error_code status_error;
  if (!fs::is_directory(dir, status_error)) {
    const bool exists = fs::exists(dir, status_error);
    throw dataset_error("agd: " + dataset_name + " directory '" + dir.string() + "' " +
                        (exists ? "is not a directory" : "does not exist") + fix);
  }

  std::string found_partly;
  for (const fs::path& candidate : {dir, dir / subdirectory}) {
    std::vector<fs::path> files;
    std::vector<std::string> missing;
    for (const std::string& name : names) {
      if (fs::is_regular_file(candidate / name, status_error)) {
        files.push_back(candidate / name);
      } else {
        missing.push_back(name);
      }
    }
    if (missing.empty()) return files;
    if (!files.empty()) {
      found_partly += "; '" + candidate.string() + "' lacks " + join_names(missing) +
                      " (an incomplete download or extraction?)";
    }
  }

  std::string hints = found_partly;
  const auto has = [&](const fs::path& path) { return fs::exists(path, status_error); };
  if (has(dir / (ten ? "cifar-100-binary" : "cifar-10-batches-bin")) ||
      has(dir / (ten ? "train.bin" : "data_batch_1.bin"))) {
    hints += ten ? "; the directory holds CIFAR-100 files: use cifar_kind::cifar100_fine or "
                   "cifar_kind::cifar100_coarse for them"
                 : "; the directory holds CIFAR-10 files: use cifar_kind::cifar10 for them";
  }
  if (has(dir / (ten ? "cifar-10-batches-py" : "cifar-100-python"))) {
    hints += "; '" + std::string(ten ? "cifar-10-batches-py" : "cifar-100-python") +
             "' is the Python (pickle) version, which this reader does not read";
  }
  throw dataset_error("agd: " + dataset_name + " " + (which == split::train ? "training" : "test") +
                      " files not found: looked for " + join_names(names) + " in '" + dir.string() +
                      "' and in '" + (dir / subdirectory).string() + "'" + hints + fix);
}

}  // namespace detail

// Loads one split of CIFAR-10 or CIFAR-100 from dir, which holds the .bin files or the directory
// the archive extracts to (cifar-10-batches-bin or cifar-100-binary). The CIFAR-10 training set is
// data_batch_1..5 concatenated in that order. Throws dataset_error.
inline dataset load_cifar(const std::filesystem::path& dir, split which, cifar_kind kind) {
  const std::vector<std::filesystem::path> files = detail::find_cifar_files(dir, which, kind);
  // Read and check every file before allocating the float matrix once for all of them.
  std::vector<std::vector<std::uint8_t>> contents;
  std::vector<std::size_t> counts;
  std::size_t total = 0;
  for (const std::filesystem::path& file : files) {
    contents.push_back(detail::read_cifar_bytes(file, kind));
    const std::size_t count =
        detail::cifar_record_count(contents.back().size(), kind, file.string());
    detail::check_cifar_labels(contents.back(), count, kind, file.string());
    counts.push_back(count);
    total += count;
  }
  dataset result;
  result.classes = detail::cifar_classes(kind);
  result.labels.resize(total);
  result.inputs.resize(static_cast<Eigen::Index>(detail::cifar_pixels),
                       static_cast<Eigen::Index>(total));
  std::size_t column = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    detail::decode_cifar_records(contents[f], counts[f], kind, result, column);
    column += counts[f];
    contents[f] = {};  // release the bytes as soon as they are decoded
  }
  return result;
}

// The augmentation of the paper's CIFAR experiments (torchvision's RandomCrop(size, padding)
// then RandomHorizontalFlip()): each image is zero-padded by `padding` on every side, a
// height x width window at offsets drawn uniformly from [0, 2*padding] is kept, and the result is
// mirrored left-right with probability 1/2. Draws come from a std::mt19937_64 through
// detail::uniform_below, so a seed gives the same images on every platform. apply() works in
// place and allocates nothing: its scratch image is allocated by the constructor.
class crop_flip_augmenter {
 public:
  crop_flip_augmenter(std::size_t channels, std::size_t height, std::size_t width,
                      std::size_t padding = 4, std::uint64_t seed = 0)
      : channels_(channels),
        height_(height),
        width_(width),
        padding_(padding),
        generator_(detail::mix64(seed)) {
    if (channels == 0 || height == 0 || width == 0) {
      throw std::invalid_argument("agd: crop_flip_augmenter: image of " + std::to_string(channels) +
                                  "x" + std::to_string(height) + "x" + std::to_string(width) +
                                  " (channels x height x width) is empty");
    }
    constexpr std::size_t limit = std::size_t{1} << 20;
    if (channels > limit || height > limit || width > limit || padding > limit ||
        channels * height > limit * limit / width) {
      throw std::invalid_argument("agd: crop_flip_augmenter: image of " + std::to_string(channels) +
                                  "x" + std::to_string(height) + "x" + std::to_string(width) +
                                  " with padding " + std::to_string(padding) +
                                  " is too large (at most 2^40 values and padding 2^20)");
    }
    scratch_.resize(channels * height * width);
  }

  // Augments the first `columns` columns of batch, one C x H x W image (channel-major) each.
  // Columns after them are left alone, so a part-filled batch buffer can be passed.
  template <class Derived>
  void apply(Eigen::MatrixBase<Derived>& batch, std::size_t columns) {
    using scalar = typename Derived::Scalar;
    static_assert(std::is_floating_point_v<scalar> && sizeof(scalar) <= sizeof(double),
                  "crop_flip_augmenter works on float or double matrices");
    if (static_cast<std::size_t>(batch.rows()) != scratch_.size()) {
      throw std::invalid_argument(
          "agd: crop_flip_augmenter::apply: batch has " + std::to_string(batch.rows()) +
          " rows but images of " + std::to_string(channels_) + "x" + std::to_string(height_) + "x" +
          std::to_string(width_) + " have " + std::to_string(scratch_.size()));
    }
    if (columns > static_cast<std::size_t>(batch.cols())) {
      throw std::invalid_argument("agd: crop_flip_augmenter::apply: " + std::to_string(columns) +
                                  " columns requested but the batch has " +
                                  std::to_string(batch.cols()));
    }
    const std::uint64_t offsets = 2 * static_cast<std::uint64_t>(padding_) + 1;
    for (std::size_t j = 0; j < columns; ++j) {
      const auto offset_y = static_cast<std::size_t>(detail::uniform_below(generator_, offsets));
      const auto offset_x = static_cast<std::size_t>(detail::uniform_below(generator_, offsets));
      const bool flip = detail::uniform_below(generator_, 2) == 1;
      transform(batch, static_cast<Eigen::Index>(j), offset_y, offset_x, flip);
    }
  }

  std::size_t channels() const { return channels_; }
  std::size_t height() const { return height_; }
  std::size_t width() const { return width_; }
  std::size_t padding() const { return padding_; }

 private:
  // Output pixel (c, y, x) = input pixel (c, y + offset_y - padding, x' + offset_x - padding)
  // with x' = width - 1 - x when flipped, else x; zero where that lies outside the image.
  template <class Derived>
  void transform(Eigen::MatrixBase<Derived>& batch, Eigen::Index column, std::size_t offset_y,
                 std::size_t offset_x, bool flip) {
    using scalar = typename Derived::Scalar;
    if (offset_y == padding_ && offset_x == padding_ && !flip) return;
    const std::size_t values = scratch_.size();
    for (std::size_t i = 0; i < values; ++i) {
      scratch_[i] = static_cast<double>(batch(static_cast<Eigen::Index>(i), column));
    }
    // Source row/column = destination + offset - padding, done in unsigned arithmetic with
    // wrap-around: an index below zero wraps to a huge value and fails the < height/width test.
    const std::size_t plane = height_ * width_;
    for (std::size_t c = 0; c < channels_; ++c) {
      for (std::size_t y = 0; y < height_; ++y) {
        const std::size_t source_y = y + offset_y - padding_;
        const std::size_t destination = c * plane + y * width_;
        const bool row_inside = source_y < height_;
        for (std::size_t x = 0; x < width_; ++x) {
          const std::size_t unflipped = flip ? width_ - 1 - x : x;
          const std::size_t source_x = unflipped + offset_x - padding_;
          const double value = row_inside && source_x < width_
                                   ? scratch_[c * plane + source_y * width_ + source_x]
                                   : 0.0;
          batch(static_cast<Eigen::Index>(destination + x), column) = static_cast<scalar>(value);
        }
      }
    }
  }

  std::size_t channels_;
  std::size_t height_;
  std::size_t width_;
  std::size_t padding_;
  std::mt19937_64 generator_;
  std::vector<double> scratch_;  // one image, allocated once
};

}  // namespace agd::data
