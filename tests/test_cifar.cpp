// Tests for the CIFAR-10/100 reader, per-channel standardisation and the crop/flip augmenter, on
// small generated files whose pixel values say where they came from.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "agd/data/cifar.hpp"
#include "agd/data/dataset.hpp"
#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;
using agd::data::cifar_kind;
using agd::data::crop_flip_augmenter;
using agd::data::dataset;
using agd::data::dataset_error;
using agd::data::split;

using agd_test::scratch_dir;

constexpr std::size_t plane = 1024;

// Pixel byte of record i, channel c, row r, column k: every coordinate changes the value.
std::uint8_t pixel_value(std::size_t i, std::size_t c, std::size_t r, std::size_t k) {
  return static_cast<std::uint8_t>(i * 37 + c * 85 + r * 7 + k * 3);
}

std::uint8_t label10(std::size_t i) {
  return static_cast<std::uint8_t>((i * 3 + 1) % 10);
}
std::uint8_t coarse_label(std::size_t i) {
  return static_cast<std::uint8_t>((i * 7 + 2) % 20);
}
std::uint8_t fine_label(std::size_t i) {
  return static_cast<std::uint8_t>((i * 13 + 5) % 100);
}

// `count` records of the given kind; `first` offsets the record numbers so files differ.
std::vector<std::uint8_t> cifar_bytes(cifar_kind kind, std::size_t count, std::size_t first = 0) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t n = first; n < first + count; ++n) {
    if (kind == cifar_kind::cifar10) {
      bytes.push_back(label10(n));
    } else {
      bytes.push_back(coarse_label(n));
      bytes.push_back(fine_label(n));
    }
    for (std::size_t c = 0; c < 3; ++c) {
      for (std::size_t r = 0; r < 32; ++r) {
        for (std::size_t k = 0; k < 32; ++k) bytes.push_back(pixel_value(n, c, r, k));
      }
    }
  }
  return bytes;
}

void write_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Checks that column j of data holds record `record` of cifar_bytes, channel-major, /255.
bool column_matches_record(const dataset& data, std::size_t j, std::size_t record) {
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t r = 0; r < 32; ++r) {
      for (std::size_t k = 0; k < 32; ++k) {
        const float expected = static_cast<float>(pixel_value(record, c, r, k)) / 255.0f;
        const float got = data.inputs(static_cast<Eigen::Index>(c * plane + r * 32 + k),
                                      static_cast<Eigen::Index>(j));
        if (got != expected) return false;
      }
    }
  }
  return true;
}

std::string read_error(const fs::path& file, cifar_kind kind) {
  try {
    agd::data::read_cifar_file(file, kind);
  } catch (const dataset_error& error) {
    return error.what();
  }
  FAIL("read_cifar_file accepted " << file);
  return {};
}

std::string load_error(const fs::path& dir, split which, cifar_kind kind) {
  try {
    agd::data::load_cifar(dir, which, kind);
  } catch (const dataset_error& error) {
    return error.what();
  }
  FAIL("load_cifar accepted " << dir);
  return {};
}

// Writes the files of both splits of `kind` into dir: CIFAR-10 batches of 2, 3, 1, 2 and 1
// records numbered on from one another and a test batch of 4; CIFAR-100 train 5, test 3.
void write_dataset(const fs::path& dir, cifar_kind kind) {
  fs::create_directories(dir);
  if (kind == cifar_kind::cifar10) {
    const std::array<std::size_t, 5> sizes{2, 3, 1, 2, 1};
    std::size_t first = 0;
    for (std::size_t b = 0; b < sizes.size(); ++b) {
      write_bytes(dir / ("data_batch_" + std::to_string(b + 1) + ".bin"),
                  cifar_bytes(kind, sizes[b], first));
      first += sizes[b];
    }
    write_bytes(dir / "test_batch.bin", cifar_bytes(kind, 4, 100));
  } else {
    write_bytes(dir / "train.bin", cifar_bytes(kind, 5));
    write_bytes(dir / "test.bin", cifar_bytes(kind, 3, 100));
  }
}

// Reference crop/flip of one C x H x W image, written from the specification.
Eigen::VectorXf crop_flip_reference(const Eigen::VectorXf& image, std::size_t channels,
                                    std::size_t height, std::size_t width, std::size_t padding,
                                    std::size_t offset_y, std::size_t offset_x, bool flip) {
  Eigen::VectorXf out(image.size());
  const auto p = static_cast<std::ptrdiff_t>(padding);
  for (std::size_t c = 0; c < channels; ++c) {
    for (std::size_t y = 0; y < height; ++y) {
      for (std::size_t x = 0; x < width; ++x) {
        const std::size_t unflipped = flip ? width - 1 - x : x;
        const std::ptrdiff_t sy = static_cast<std::ptrdiff_t>(y + offset_y) - p;
        const std::ptrdiff_t sx = static_cast<std::ptrdiff_t>(unflipped + offset_x) - p;
        const bool inside = sy >= 0 && sx >= 0 && sy < static_cast<std::ptrdiff_t>(height) &&
                            sx < static_cast<std::ptrdiff_t>(width);
        out(static_cast<Eigen::Index>((c * height + y) * width + x)) =
            inside ? image(static_cast<Eigen::Index>((c * height + static_cast<std::size_t>(sy)) *
                                                         width +
                                                     static_cast<std::size_t>(sx)))
                   : 0.0f;
      }
    }
  }
  return out;
}

// A batch of `count` images whose values are all distinct and non-zero.
Eigen::MatrixXf distinct_images(Eigen::Index rows, Eigen::Index count) {
  Eigen::MatrixXf batch(rows, count);
  for (Eigen::Index j = 0; j < count; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) batch(i, j) = static_cast<float>(1 + i + j * rows);
  }
  return batch;
}

}  // namespace

TEST_CASE("cifar: CIFAR-10 round trip of labels and pixels", "[cifar]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "data_batch_1.bin";
  write_bytes(file, cifar_bytes(cifar_kind::cifar10, 7));
  const dataset data = agd::data::read_cifar_file(file, cifar_kind::cifar10);
  REQUIRE(data.size() == 7);
  CHECK(data.classes == 10);
  REQUIRE(data.inputs.rows() == 3072);
  REQUIRE(data.inputs.cols() == 7);
  for (std::size_t j = 0; j < 7; ++j) {
    CHECK(data.labels[j] == label10(j));
    CHECK(column_matches_record(data, j, j));
  }
  // Spot checks of the layout: channel 1, row 2, column 5 of record 3 is at row 1024 + 64 + 5.
  CHECK(data.inputs(1024 + 2 * 32 + 5, 3) == static_cast<float>(pixel_value(3, 1, 2, 5)) / 255.0f);
  CHECK(data.inputs(2 * 1024 + 31 * 32 + 31, 6) ==
        static_cast<float>(pixel_value(6, 2, 31, 31)) / 255.0f);
  CHECK(data.inputs.minCoeff() >= 0.0f);
  CHECK(data.inputs.maxCoeff() <= 1.0f);
}

TEST_CASE("cifar: CIFAR-100 fine and coarse labels round trip", "[cifar]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "train.bin";
  write_bytes(file, cifar_bytes(cifar_kind::cifar100_fine, 7));
  const dataset fine = agd::data::read_cifar_file(file, cifar_kind::cifar100_fine);
  const dataset coarse = agd::data::read_cifar_file(file, cifar_kind::cifar100_coarse);
  REQUIRE(fine.size() == 7);
  REQUIRE(coarse.size() == 7);
  CHECK(fine.classes == 100);
  CHECK(coarse.classes == 20);
  for (std::size_t j = 0; j < 7; ++j) {
    CHECK(fine.labels[j] == fine_label(j));
    CHECK(coarse.labels[j] == coarse_label(j));
    CHECK(column_matches_record(fine, j, j));
  }
  CHECK(fine.inputs == coarse.inputs);
}

TEST_CASE("cifar: parse_cifar reads bytes held in memory", "[cifar]") {
  const std::vector<std::uint8_t> bytes = cifar_bytes(cifar_kind::cifar10, 3, 40);
  const dataset data = agd::data::parse_cifar(bytes, cifar_kind::cifar10, "memory");
  REQUIRE(data.size() == 3);
  for (std::size_t j = 0; j < 3; ++j) {
    CHECK(data.labels[j] == label10(40 + j));
    CHECK(column_matches_record(data, j, 40 + j));
  }
}

TEST_CASE("cifar: load_cifar finds the files in the directory and in the extracted one",
          "[cifar]") {
  const scratch_dir dir;
  SECTION("CIFAR-10") {
    const cifar_kind kind = cifar_kind::cifar10;
    const fs::path flat = dir.path / "flat";
    write_dataset(flat, kind);
    write_dataset(dir.path / "archive" / "cifar-10-batches-bin", kind);
    for (const fs::path& root : {flat, dir.path / "archive"}) {
      const dataset train = agd::data::load_cifar(root, split::train, kind);
      REQUIRE(train.size() == 9);
      CHECK(train.classes == 10);
      // Batches 1..5 concatenated in order: records 0..8.
      for (std::size_t j = 0; j < 9; ++j) {
        CHECK(train.labels[j] == label10(j));
        CHECK(column_matches_record(train, j, j));
      }
      const dataset test = agd::data::load_cifar(root, split::test, kind);
      REQUIRE(test.size() == 4);
      CHECK(test.labels[0] == label10(100));
      CHECK(column_matches_record(test, 3, 103));
    }
  }
  SECTION("CIFAR-100") {
    const fs::path flat = dir.path / "flat";
    write_dataset(flat, cifar_kind::cifar100_fine);
    write_dataset(dir.path / "archive" / "cifar-100-binary", cifar_kind::cifar100_fine);
    for (const fs::path& root : {flat, dir.path / "archive"}) {
      const dataset train = agd::data::load_cifar(root, split::train, cifar_kind::cifar100_fine);
      REQUIRE(train.size() == 5);
      CHECK(train.classes == 100);
      CHECK(train.labels[4] == fine_label(4));
      CHECK(column_matches_record(train, 4, 4));
      const dataset test = agd::data::load_cifar(root, split::test, cifar_kind::cifar100_coarse);
      REQUIRE(test.size() == 3);
      CHECK(test.classes == 20);
      CHECK(test.labels[2] == coarse_label(102));
      CHECK(column_matches_record(test, 2, 102));
    }
  }
}

TEST_CASE("cifar: load_cifar names what it looked for", "[cifar]") {
  const scratch_dir dir;
  const fs::path missing = dir.path / "no-such-dir";
  const std::string no_dir = load_error(missing, split::train, cifar_kind::cifar10);
  CHECK_THAT(no_dir, Catch::Contains(missing.string()));
  CHECK_THAT(no_dir, Catch::Contains("does not exist"));
  CHECK_THAT(no_dir, Catch::Contains("cifar-10-binary.tar.gz"));

  // An empty directory: the message lists the files and both places.
  const std::string empty = load_error(dir.path, split::train, cifar_kind::cifar10);
  CHECK_THAT(empty, Catch::Contains("data_batch_1.bin"));
  CHECK_THAT(empty, Catch::Contains("data_batch_5.bin"));
  CHECK_THAT(empty, Catch::Contains((dir.path / "cifar-10-batches-bin").string()));
  CHECK_THAT(load_error(dir.path, split::test, cifar_kind::cifar100_fine),
             Catch::Contains("test.bin"));

  // An incomplete extraction names the missing batch.
  write_dataset(dir.path / "cifar-10-batches-bin", cifar_kind::cifar10);
  fs::remove(dir.path / "cifar-10-batches-bin" / "data_batch_4.bin");
  const std::string partial = load_error(dir.path, split::train, cifar_kind::cifar10);
  CHECK_THAT(partial, Catch::Contains("lacks data_batch_4.bin"));

  // CIFAR-10 files asked for as CIFAR-100 get a hint about the kind.
  CHECK_THAT(load_error(dir.path, split::test, cifar_kind::cifar100_fine),
             Catch::Contains("use cifar_kind::cifar10"));
}

TEST_CASE("cifar: a missing or unreadable file names the reason", "[cifar]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "data_batch_9.bin";
  const std::string message = read_error(file, cifar_kind::cifar10);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("No such file or directory"));
  CHECK_THAT(read_error(dir.path, cifar_kind::cifar10), Catch::Contains("is a directory"));
}

TEST_CASE("cifar: a size that is not a whole number of records names the sizes", "[cifar]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "data_batch_1.bin";
  std::vector<std::uint8_t> bytes = cifar_bytes(cifar_kind::cifar10, 7);
  bytes.resize(bytes.size() - 5);  // 7 * 3073 - 5 = 21506
  write_bytes(file, bytes);
  const std::string message = read_error(file, cifar_kind::cifar10);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("21506 bytes"));
  CHECK_THAT(message, Catch::Contains("3073-byte CIFAR-10 records"));
  CHECK_THAT(message, Catch::Contains("6 records and 3068 bytes over"));
  CHECK_THAT(message, Catch::Contains("truncated"));

  // A whole CIFAR-10 file read as CIFAR-100: the message says what it probably is.
  write_bytes(file, cifar_bytes(cifar_kind::cifar10, 7));
  const std::string wrong_kind = read_error(file, cifar_kind::cifar100_fine);
  CHECK_THAT(wrong_kind, Catch::Contains("21511 bytes"));
  CHECK_THAT(wrong_kind, Catch::Contains("3074-byte"));
  CHECK_THAT(wrong_kind, Catch::Contains("exactly 7 3073-byte CIFAR-10 records"));
  CHECK_THAT(wrong_kind, Catch::Contains("cifar_kind::cifar10"));

  // And the other way round.
  write_bytes(file, cifar_bytes(cifar_kind::cifar100_fine, 7));
  CHECK_THAT(read_error(file, cifar_kind::cifar10), Catch::Contains("probably a CIFAR-100 file"));

  // An empty file.
  write_bytes(file, {});
  CHECK_THAT(read_error(file, cifar_kind::cifar10), Catch::Contains("empty (0 bytes)"));
}

TEST_CASE("cifar: a label out of range names the record", "[cifar]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "test_batch.bin";
  std::vector<std::uint8_t> ten = cifar_bytes(cifar_kind::cifar10, 7);
  ten[4 * 3073] = 10;
  write_bytes(file, ten);
  std::string message = read_error(file, cifar_kind::cifar10);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("record 4 (byte offset 12292) has label 10"));
  CHECK_THAT(message, Catch::Contains("below 10"));

  std::vector<std::uint8_t> hundred = cifar_bytes(cifar_kind::cifar100_fine, 7);
  hundred[2 * 3074 + 1] = 100;
  write_bytes(file, hundred);
  for (const cifar_kind kind : {cifar_kind::cifar100_fine, cifar_kind::cifar100_coarse}) {
    message = read_error(file, kind);
    CHECK_THAT(message, Catch::Contains("record 2"));
    CHECK_THAT(message, Catch::Contains("fine label 100"));
  }
  hundred[2 * 3074 + 1] = 99;
  hundred[5 * 3074] = 20;
  write_bytes(file, hundred);
  CHECK_THAT(read_error(file, cifar_kind::cifar100_fine),
             Catch::Contains("record 5 (byte offset 15370) has coarse label 20"));
}

TEST_CASE("cifar: parse_cifar only ever throws dataset_error on bad input", "[cifar]") {
  const auto parse = [](std::span<const std::uint8_t> bytes, cifar_kind kind) {
    try {
      const dataset data = agd::data::parse_cifar(bytes, kind, "fuzz");
      // Accepted: the shapes must agree with the size.
      CHECK(data.inputs.rows() == 3072);
      CHECK(static_cast<std::size_t>(data.inputs.cols()) == data.size());
      CHECK(data.size() * (kind == cifar_kind::cifar10 ? 3073 : 3074) == bytes.size());
      return true;
    } catch (const dataset_error&) {
      return false;
    }
  };
  const std::array<cifar_kind, 3> kinds{cifar_kind::cifar10, cifar_kind::cifar100_fine,
                                        cifar_kind::cifar100_coarse};
  for (const cifar_kind kind : kinds) {
    CHECK_FALSE(parse({}, kind));
    const std::array<std::uint8_t, 1> one{0};
    CHECK_FALSE(parse(one, kind));
  }

  std::mt19937_64 generator(12345);
  std::vector<std::uint8_t> bytes;
  int accepted = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const cifar_kind kind = kinds[static_cast<std::size_t>(trial) % kinds.size()];
    const std::size_t record = kind == cifar_kind::cifar10 ? 3073 : 3074;
    // Mostly sizes near whole numbers of records, where the label checks are reached.
    const std::size_t size = trial % 2 == 0 ? (generator() % 4) * record
                                            : static_cast<std::size_t>(generator() % (4 * record));
    bytes.resize(size);
    for (std::uint8_t& byte : bytes) byte = static_cast<std::uint8_t>(generator());
    // Small labels half the time, so some random inputs parse.
    if (trial % 4 == 0) {
      for (std::size_t at = 0; at + record <= size; at += record) {
        bytes[at] %= 20;
        bytes[at + 1] %= 100;
        if (kind == cifar_kind::cifar10) bytes[at] %= 10;
      }
    }
    if (parse(bytes, kind)) ++accepted;
  }
  CHECK(accepted > 0);
}

TEST_CASE("cifar: channel standardisation gives mean 0 and std 1 per channel", "[cifar]") {
  dataset data =
      agd::data::parse_cifar(cifar_bytes(cifar_kind::cifar10, 7), cifar_kind::cifar10, "memory");
  // Make the channels differ in mean and spread.
  data.inputs.middleRows(1024, 1024) = data.inputs.middleRows(1024, 1024) * 0.5f;
  data.inputs.middleRows(2048, 1024).array() += 3.0f;
  const agd::data::channel_standardisation stats = agd::data::compute_channel_standardisation(data);
  CHECK(stats.channels == 3);
  for (std::size_t c = 0; c < 3; ++c) {
    const Eigen::ArrayXXd values =
        data.inputs.middleRows(static_cast<Eigen::Index>(c * plane), plane).cast<double>().array();
    const double mean = values.mean();
    const double std = std::sqrt((values - mean).square().mean());
    CHECK(stats.mean[c] == Approx(mean).epsilon(1e-6));
    CHECK(stats.std[c] == Approx(std).epsilon(1e-6));
  }
  CHECK(stats.mean[2] > stats.mean[0] + 2.0f);
  CHECK(stats.std[1] < stats.std[0]);

  agd::data::apply(stats, data);
  for (std::size_t c = 0; c < 3; ++c) {
    const Eigen::ArrayXXd values =
        data.inputs.middleRows(static_cast<Eigen::Index>(c * plane), plane).cast<double>().array();
    const double mean = values.mean();
    CHECK(std::abs(mean) < 1e-5);
    CHECK(std::sqrt((values - mean).square().mean()) == Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("cifar: channel standardisation rejects unusable inputs", "[cifar]") {
  dataset empty;
  empty.inputs.resize(3072, 0);
  CHECK_THROWS_AS(agd::data::compute_channel_standardisation(empty), std::invalid_argument);
  dataset odd;
  odd.inputs = Eigen::MatrixXf::Random(784, 2);
  odd.labels = {0, 1};
  CHECK_THROWS_AS(agd::data::compute_channel_standardisation(odd, 3), std::invalid_argument);
  CHECK_THROWS_AS(agd::data::compute_channel_standardisation(odd, 4), std::invalid_argument);
  const agd::data::channel_standardisation one = agd::data::compute_channel_standardisation(odd, 1);
  CHECK(one.channels == 1);
  agd::data::apply(one, odd);
  CHECK(std::abs(odd.inputs.mean()) < 1e-5f);

  dataset constant;
  constant.inputs = Eigen::MatrixXf::Constant(3072, 2, 0.5f);
  constant.labels = {0, 1};
  const agd::data::channel_standardisation flat =
      agd::data::compute_channel_standardisation(constant);
  CHECK_THROWS_AS(agd::data::apply(flat, constant), std::invalid_argument);
}

TEST_CASE("cifar: augmenter is deterministic for a seed", "[cifar]") {
  const Eigen::MatrixXf original = distinct_images(3 * 8 * 8, 16);
  Eigen::MatrixXf first = original;
  Eigen::MatrixXf second = original;
  Eigen::MatrixXf other = original;
  crop_flip_augmenter a(3, 8, 8, 2, 7);
  crop_flip_augmenter b(3, 8, 8, 2, 7);
  crop_flip_augmenter c(3, 8, 8, 2, 8);
  a.apply(first, 16);
  b.apply(second, 16);
  c.apply(other, 16);
  CHECK(first == second);
  CHECK(first != other);
  CHECK(first != original);
  // The next batch continues the sequence rather than repeating it.
  Eigen::MatrixXf again = original;
  a.apply(again, 16);
  CHECK(again != first);
}

TEST_CASE("cifar: augmenter with padding 0 only flips, and a flip reverses the rows", "[cifar]") {
  const std::size_t channels = 3;
  const std::size_t height = 4;
  const std::size_t width = 5;
  const auto rows = static_cast<Eigen::Index>(channels * height * width);
  const Eigen::MatrixXf original = distinct_images(rows, 64);
  Eigen::MatrixXf batch = original;
  crop_flip_augmenter augmenter(channels, height, width, 0, 3);
  augmenter.apply(batch, 64);
  int flipped = 0;
  for (Eigen::Index j = 0; j < 64; ++j) {
    if (batch.col(j) == original.col(j)) continue;
    ++flipped;
    // Each row of each channel is reversed.
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t y = 0; y < height; ++y) {
        const auto start = static_cast<Eigen::Index>((c * height + y) * width);
        const auto length = static_cast<Eigen::Index>(width);
        CHECK(batch.col(j).segment(start, length) ==
              original.col(j).segment(start, length).reverse());
      }
    }
  }
  // 64 fair coin flips: all heads or all tails has probability 2^-63.
  CHECK(flipped > 0);
  CHECK(flipped < 64);
}

TEST_CASE("cifar: augmenter crop shifts pixels and fills zeros", "[cifar]") {
  const std::size_t channels = 2;
  const std::size_t height = 3;
  const std::size_t width = 4;
  const std::size_t padding = 1;
  const Eigen::Index count = 200;
  const auto rows = static_cast<Eigen::Index>(channels * height * width);
  const Eigen::MatrixXf original = distinct_images(rows, count);
  Eigen::MatrixXf batch = original;
  crop_flip_augmenter augmenter(channels, height, width, padding, 11);
  augmenter.apply(batch, static_cast<std::size_t>(count));

  // Each output is exactly one of the 3 x 3 x 2 crops/flips of its input (values are distinct and
  // non-zero), and over 200 images every one of them occurs.
  std::set<std::array<std::size_t, 3>> seen;
  Eigen::Index shifted_column = -1;
  for (Eigen::Index j = 0; j < count; ++j) {
    int matches = 0;
    for (std::size_t oy = 0; oy <= 2 * padding; ++oy) {
      for (std::size_t ox = 0; ox <= 2 * padding; ++ox) {
        for (const bool flip : {false, true}) {
          const Eigen::VectorXf expected =
              crop_flip_reference(original.col(j), channels, height, width, padding, oy, ox, flip);
          if (batch.col(j) == expected) {
            ++matches;
            seen.insert({oy, ox, flip ? std::size_t{1} : std::size_t{0}});
            if (oy == 0 && ox == 2 && !flip) shifted_column = j;
          }
        }
      }
    }
    CHECK(matches == 1);
  }
  CHECK(seen.size() == 18);

  // A concrete case: offsets (0, 2) without a flip move the image down one row and left one
  // column, so the top row and the right column are zero.
  REQUIRE(shifted_column >= 0);
  const auto out = [&](std::size_t c, std::size_t y, std::size_t x) {
    return batch(static_cast<Eigen::Index>((c * height + y) * width + x), shifted_column);
  };
  const auto in = [&](std::size_t c, std::size_t y, std::size_t x) {
    return original(static_cast<Eigen::Index>((c * height + y) * width + x), shifted_column);
  };
  for (std::size_t c = 0; c < channels; ++c) {
    for (std::size_t x = 0; x < width; ++x) CHECK(out(c, 0, x) == 0.0f);
    for (std::size_t y = 1; y < height; ++y) {
      CHECK(out(c, y, width - 1) == 0.0f);
      for (std::size_t x = 0; x + 1 < width; ++x) CHECK(out(c, y, x) == in(c, y - 1, x + 1));
    }
  }

  // Columns after `columns` are untouched, and a double batch works the same way.
  Eigen::MatrixXd partial = original.cast<double>();
  crop_flip_augmenter(channels, height, width, padding, 11).apply(partial, 5);
  CHECK(partial.leftCols(5) == batch.leftCols(5).cast<double>());
  CHECK(partial.rightCols(count - 5) == original.rightCols(count - 5).cast<double>());
}

TEST_CASE("cifar: augmenter rejects mismatched batches", "[cifar]") {
  crop_flip_augmenter augmenter(3, 32, 32);
  Eigen::MatrixXf wrong_rows(3071, 2);
  CHECK_THROWS_AS(augmenter.apply(wrong_rows, 2), std::invalid_argument);
  Eigen::MatrixXf batch = Eigen::MatrixXf::Zero(3072, 2);
  CHECK_THROWS_AS(augmenter.apply(batch, 3), std::invalid_argument);
  CHECK_THROWS_AS(crop_flip_augmenter(0, 32, 32), std::invalid_argument);
}
