// Tests for the dataset loader, preprocessing and the mini-batch sampler, on generated files and,
// when installed, on the real Fashion-MNIST.
#include <catch2/catch.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "agd/data/batches.hpp"
#include "agd/data/dataset.hpp"
#include "agd/data/idx.hpp"
#include "agd/data/preprocessing.hpp"
#include "fashion_mnist_data.hpp"
#include "scratch_dir.hpp"
#include "skip.hpp"

namespace {

namespace fs = std::filesystem;
using agd::data::batch_sampler;
using agd::data::dataset;
using agd::data::idx_array;

using agd_test::scratch_dir;

// count images of rows x cols with pixel (n, r, c) = n*16 + r*cols + c, so every value says where
// it came from.
idx_array pattern_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  idx_array array;
  array.dims = {count, rows, cols};
  for (std::uint32_t n = 0; n < count; ++n) {
    for (std::uint32_t i = 0; i < rows * cols; ++i) {
      array.data.push_back(static_cast<std::uint8_t>(n * 16 + i));
    }
  }
  return array;
}

idx_array labels_of(std::vector<std::uint8_t> values) {
  idx_array array;
  array.dims = {static_cast<std::uint32_t>(values.size())};
  array.data = std::move(values);
  return array;
}

// A dataset of `count` one-hot-ish columns, column j filled with the value j, label j % 10.
dataset numbered_dataset(std::size_t count, Eigen::Index inputs) {
  dataset data;
  data.inputs.resize(inputs, static_cast<Eigen::Index>(count));
  for (std::size_t j = 0; j < count; ++j) {
    data.inputs.col(static_cast<Eigen::Index>(j)).setConstant(static_cast<float>(j));
    data.labels.push_back(static_cast<std::int32_t>(j % 10));
  }
  return data;
}

std::string load_error(const fs::path& images, const fs::path& labels) {
  try {
    agd::data::load_idx_pair(images, labels);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  FAIL("load_idx_pair accepted " << images << " and " << labels);
  return {};
}

// All indices of one epoch, in order.
std::vector<std::size_t> epoch_order(batch_sampler& sampler) {
  sampler.start_epoch();
  std::vector<std::size_t> order;
  std::span<const std::size_t> batch;
  while (sampler.next(batch)) order.insert(order.end(), batch.begin(), batch.end());
  return order;
}

}  // namespace

TEST_CASE("data: load_idx_pair puts one sample per column, pixels row-major, scaled to [0,1]",
          "[data]") {
  const scratch_dir dir;
  agd::data::write_idx(dir.path / "images.gz", pattern_images(3, 2, 3), true);
  agd::data::write_idx(dir.path / "labels", labels_of({7, 0, 9}), false);
  const dataset data = agd::data::load_idx_pair(dir.path / "images.gz", dir.path / "labels");

  REQUIRE(data.size() == 3);
  REQUIRE(data.input_size() == 6);
  CHECK(data.classes == 10);
  CHECK(data.labels == std::vector<std::int32_t>{7, 0, 9});
  for (Eigen::Index n = 0; n < 3; ++n) {
    for (Eigen::Index i = 0; i < 6; ++i) {
      CHECK(data.inputs(i, n) == static_cast<float>(n * 16 + i) / 255.0f);
    }
  }
}

TEST_CASE("data: image and label counts must match", "[data]") {
  const scratch_dir dir;
  const fs::path images = dir.path / "train-images-idx3-ubyte";
  const fs::path labels = dir.path / "train-labels-idx1-ubyte";
  agd::data::write_idx(images, pattern_images(3, 2, 2), false);
  agd::data::write_idx(labels, labels_of({1, 2}), false);
  const std::string message = load_error(images, labels);
  CHECK_THAT(message, Catch::Contains(images.string()));
  CHECK_THAT(message, Catch::Contains(labels.string()));
  CHECK_THAT(message, Catch::Contains("holds 3 images"));
  CHECK_THAT(message, Catch::Contains("holds 2 labels"));
}

TEST_CASE("data: labels must be below 10", "[data]") {
  const scratch_dir dir;
  const fs::path images = dir.path / "images";
  const fs::path labels = dir.path / "labels";
  agd::data::write_idx(images, pattern_images(3, 2, 2), false);
  agd::data::write_idx(labels, labels_of({1, 12, 3}), false);
  const std::string message = load_error(images, labels);
  CHECK_THAT(message, Catch::Contains(labels.string()));
  CHECK_THAT(message, Catch::Contains("index 1 is 12"));
}

TEST_CASE("data: swapped image and label files are a rank error", "[data]") {
  const scratch_dir dir;
  const fs::path images = dir.path / "images";
  const fs::path labels = dir.path / "labels";
  agd::data::write_idx(images, pattern_images(2, 2, 2), false);
  agd::data::write_idx(labels, labels_of({1, 2}), false);
  const std::string message = load_error(labels, images);
  CHECK_THAT(message, Catch::Contains("rank 1"));
  CHECK_THAT(message, Catch::Contains("rank 3 was expected"));
}

TEST_CASE("data: load_mnist_format finds files with and without .gz", "[data]") {
  const scratch_dir dir;
  agd::data::write_idx(dir.path / "train-images-idx3-ubyte.gz", pattern_images(4, 2, 2), true);
  agd::data::write_idx(dir.path / "train-labels-idx1-ubyte", labels_of({0, 1, 2, 3}), false);
  agd::data::write_idx(dir.path / "t10k-images-idx3-ubyte", pattern_images(2, 2, 2), false);
  agd::data::write_idx(dir.path / "t10k-labels-idx1-ubyte.gz", labels_of({5, 6}), true);

  const dataset train = agd::data::load_mnist_format(dir.path, agd::data::split::train);
  const dataset test = agd::data::load_mnist_format(dir.path, agd::data::split::test);
  CHECK(train.size() == 4);
  CHECK(test.size() == 2);
  CHECK(test.labels == std::vector<std::int32_t>{5, 6});
}

TEST_CASE("data: load_mnist_format on a directory without the files says what to do", "[data]") {
  const scratch_dir dir;
  try {
    agd::data::load_mnist_format(dir.path, agd::data::split::test);
    FAIL("loaded from an empty directory");
  } catch (const agd::data::dataset_error& error) {
    const std::string message = error.what();
    CHECK_THAT(message, Catch::Contains(dir.path.string()));
    CHECK_THAT(message, Catch::Contains("t10k-images-idx3-ubyte"));
    CHECK_THAT(message, Catch::Contains("t10k-images-idx3-ubyte.gz"));
    CHECK_THAT(message, Catch::Contains("apt-get install dataset-fashion-mnist"));
    CHECK_THAT(message, Catch::Contains("--data DIR"));
  }
}

TEST_CASE("data: standardisation is over all pixels with population std", "[data]") {
  dataset data;
  data.inputs.resize(2, 2);
  data.inputs << 0.0f, 1.0f, 1.0f, 2.0f;  // values 0, 1, 1, 2: mean 1, population variance 0.5
  data.labels = {0, 1};
  const agd::data::standardisation stats = agd::data::compute_standardisation(data);
  CHECK(stats.mean == Approx(1.0f));
  CHECK(stats.std == Approx(std::sqrt(0.5f)));

  agd::data::apply(stats, data);
  CHECK(data.inputs(0, 0) == Approx(-1.0f / std::sqrt(0.5f)));
  CHECK(data.inputs(1, 1) == Approx(1.0f / std::sqrt(0.5f)));
  CHECK(data.inputs(1, 0) == Approx(0.0f).margin(1e-7));

  CHECK_THROWS_AS(agd::data::apply(agd::data::standardisation{0.5f, 0.0f}, data),
                  std::invalid_argument);
  CHECK_THROWS_AS(agd::data::compute_standardisation(dataset{}), std::invalid_argument);
}

TEST_CASE("data: per-feature standardisation gives every feature mean 0 and std 1", "[data]") {
  // Three features in units far apart, and a constant one: 5 samples.
  dataset data;
  data.inputs.resize(4, 5);
  data.inputs << 1.0f, 2.0f, 3.0f, 4.0f, 5.0f,      // mean 3, population variance 2
      1000.0f, 3000.0f, 5000.0f, 7000.0f, 9000.0f,  // mean 5000, variance 8e6
      -0.01f, 0.01f, -0.01f, 0.01f, 0.0f,           // mean 0, variance 0.00008
      7.0f, 7.0f, 7.0f, 7.0f, 7.0f;                 // constant
  data.labels = {0, 1, 0, 1, 0};
  const agd::data::feature_standardisation stats = agd::data::compute_feature_standardisation(data);
  REQUIRE(stats.mean.size() == 4);
  REQUIRE(stats.std.size() == 4);
  CHECK(stats.mean[0] == Approx(3.0f));
  CHECK(stats.std[0] == Approx(std::sqrt(2.0f)));
  CHECK(stats.mean[1] == Approx(5000.0f));
  CHECK(stats.std[1] == Approx(std::sqrt(8e6f)));
  CHECK(stats.mean[2] == Approx(0.0f).margin(1e-9));
  CHECK(stats.std[2] == Approx(std::sqrt(0.00008f)));
  CHECK(stats.mean[3] == 7.0f);
  CHECK(stats.std[3] == 1.0f);  // a constant feature becomes 0, not a division by zero

  agd::data::apply(stats, data);
  for (Eigen::Index f = 0; f < 3; ++f) {
    INFO("feature " << f);
    const Eigen::ArrayXf values = data.inputs.row(f).transpose().array();
    CHECK(values.mean() == Approx(0.0f).margin(1e-6));
    CHECK(std::sqrt(values.square().mean()) == Approx(1.0f).epsilon(1e-5));
  }
  CHECK(data.inputs(0, 0) == Approx(-2.0f / std::sqrt(2.0f)));
  CHECK(data.inputs(1, 4) == Approx(4000.0f / std::sqrt(8e6f)));
  CHECK(data.inputs.row(3).isZero());

  // The same through agd::data::preprocessing, which a checkpoint stores.
  dataset again;
  again.inputs = Eigen::MatrixXf::Random(4, 9) * 50.0f;
  again.inputs.row(1).array() += 1000.0f;
  const auto inputs =
      agd::data::preprocessing::standardise(agd::data::compute_feature_standardisation(again));
  CHECK(inputs.mean.size() == 4);
  inputs.apply(again);
  for (Eigen::Index f = 0; f < 4; ++f) {
    INFO("feature " << f);
    // Float rounding of values near 1000 (eps 6e-5) divided by a std near 29: a few 1e-6.
    CHECK(again.inputs.row(f).mean() == Approx(0.0f).margin(1e-4));
    CHECK(std::sqrt(again.inputs.row(f).squaredNorm() / 9.0f) == Approx(1.0f).epsilon(1e-5));
  }

  CHECK_THROWS_AS(agd::data::compute_feature_standardisation(dataset{}), std::invalid_argument);
  dataset with_inf = data;
  with_inf.inputs(2, 3) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(agd::data::compute_feature_standardisation(with_inf),
                    Catch::Contains("feature 2 of the training set"));
  dataset wider;
  wider.inputs = Eigen::MatrixXf::Zero(5, 2);
  CHECK_THROWS_WITH(agd::data::apply(stats, wider),
                    Catch::Contains("4 means and 4 stds for inputs of 5 features"));
}

TEST_CASE("data: scale_to_sqrt_dim gives every input norm sqrt(d0) and leaves zeros", "[data]") {
  dataset data;
  data.inputs = Eigen::MatrixXf::Zero(784, 3);
  data.inputs.col(0).setConstant(0.5f);
  data.inputs(3, 2) = -7.0f;
  data.inputs(100, 2) = 0.25f;
  data.labels = {0, 1, 2};
  agd::data::scale_to_sqrt_dim(data);
  CHECK(data.inputs.col(0).norm() == Approx(28.0f));
  CHECK(data.inputs.col(1).norm() == 0.0f);
  CHECK(data.inputs.col(2).norm() == Approx(28.0f));
  CHECK(data.inputs.allFinite());
  CHECK(data.inputs(3, 2) / data.inputs(100, 2) == Approx(-28.0f));  // direction kept
}

TEST_CASE("data: take copies a slice of samples", "[data]") {
  const dataset data = numbered_dataset(12, 3);
  const dataset slice = agd::data::take(data, 4, 5);
  REQUIRE(slice.size() == 5);
  CHECK(slice.input_size() == 3);
  CHECK(slice.inputs(2, 0) == 4.0f);
  CHECK(slice.inputs(0, 4) == 8.0f);
  CHECK(slice.labels.front() == 4);
  CHECK(agd::data::take(data, 12, 0).size() == 0);
  CHECK_THROWS_AS(agd::data::take(data, 10, 3), std::out_of_range);
}

TEST_CASE("data: batch_sampler epochs are permutations", "[data][batches]") {
  batch_sampler sampler(103, 10, 42, false);
  CHECK(sampler.batches_per_epoch() == 11);
  for (int e = 0; e < 3; ++e) {
    sampler.start_epoch();
    CHECK(sampler.epoch() == static_cast<std::uint64_t>(e));
    std::vector<int> seen(103, 0);
    std::size_t batches = 0;
    std::span<const std::size_t> batch;
    while (sampler.next(batch)) {
      CHECK(batch.size() == (batches < 10 ? 10u : 3u));
      for (const std::size_t index : batch) ++seen.at(index);
      ++batches;
    }
    CHECK(batches == 11);
    CHECK(std::all_of(seen.begin(), seen.end(), [](int count) { return count == 1; }));
    CHECK_FALSE(sampler.next(batch));  // stays exhausted until the next epoch
  }
}

TEST_CASE("data: batch_sampler is reproducible per (seed, epoch)", "[data][batches]") {
  batch_sampler first(1000, 32, 7);
  batch_sampler second(1000, 32, 7);
  batch_sampler other_seed(1000, 32, 8);
  const std::vector<std::size_t> epoch0 = epoch_order(first);
  const std::vector<std::size_t> epoch1 = epoch_order(first);
  CHECK(epoch0 == epoch_order(second));
  CHECK(epoch1 == epoch_order(second));
  CHECK(epoch0 != epoch1);
  CHECK(epoch0 != epoch_order(other_seed));

  // Jumping straight to an epoch (e.g. when resuming) gives the same order.
  batch_sampler resumed(1000, 32, 7);
  resumed.start_epoch(1);
  std::span<const std::size_t> batch;
  REQUIRE(resumed.next(batch));
  CHECK(std::equal(batch.begin(), batch.end(), epoch1.begin()));

  // The shuffle really mixes: few indices stay in place.
  std::size_t fixed_points = 0;
  for (std::size_t i = 0; i < epoch0.size(); ++i) fixed_points += epoch0[i] == i;
  CHECK(fixed_points < 10);
}

TEST_CASE("data: batch_sampler drop_last gives floor(N/B) full batches", "[data][batches]") {
  batch_sampler sampler(103, 10, 1);
  CHECK(sampler.batches_per_epoch() == 10);
  sampler.start_epoch();
  std::span<const std::size_t> batch;
  std::size_t batches = 0;
  while (sampler.next(batch)) {
    CHECK(batch.size() == 10);
    ++batches;
  }
  CHECK(batches == 10);

  batch_sampler exact(100, 10, 1);
  CHECK(exact.batches_per_epoch() == 10);
  CHECK(epoch_order(exact).size() == 100);

  CHECK_THROWS_AS(batch_sampler(5, 10, 1), std::invalid_argument);
  CHECK_THROWS_AS(batch_sampler(5, 0, 1), std::invalid_argument);
  CHECK_THROWS_AS(batch_sampler(0, 1, 1, false), std::invalid_argument);
  batch_sampler not_started(5, 1, 1);
  CHECK_THROWS_AS(not_started.next(batch), std::logic_error);
}

TEST_CASE("data: gather_batch copies the selected columns and labels", "[data][batches]") {
  const dataset data = numbered_dataset(20, 4);
  Eigen::MatrixXf inputs = Eigen::MatrixXf::Constant(4, 5, -1.0f);
  std::array<std::int32_t, 5> labels{};
  labels.fill(-1);
  const std::array<std::size_t, 3> indices{17, 2, 9};
  agd::data::gather_batch(data, indices, inputs, labels);
  CHECK(inputs.col(0).isConstant(17.0f));
  CHECK(inputs.col(1).isConstant(2.0f));
  CHECK(inputs.col(2).isConstant(9.0f));
  CHECK(inputs.col(3).isConstant(-1.0f));  // columns past the batch are left alone
  CHECK(labels[0] == 7);
  CHECK(labels[1] == 2);
  CHECK(labels[2] == 9);
  CHECK(labels[3] == -1);

  Eigen::MatrixXf wrong_rows(3, 5);
  CHECK_THROWS_AS(agd::data::gather_batch(data, indices, wrong_rows, labels),
                  std::invalid_argument);
  Eigen::MatrixXf too_few_columns(4, 2);
  CHECK_THROWS_AS(agd::data::gather_batch(data, indices, too_few_columns, labels),
                  std::invalid_argument);
  std::array<std::int32_t, 2> too_few_labels{};
  CHECK_THROWS_AS(agd::data::gather_batch(data, indices, inputs, too_few_labels),
                  std::invalid_argument);
  const std::array<std::size_t, 1> out_of_range{20};
  CHECK_THROWS_AS(agd::data::gather_batch(data, out_of_range, inputs, labels),
                  std::invalid_argument);
}

TEST_CASE("data: real Fashion-MNIST", "[data][fashion-mnist]") {
  const fs::path dir = agd_test::fashion_mnist_dir();  // the build's, or the environment's
  if (!agd_test::have_fashion_mnist())
    return agd_test::skip("Fashion-MNIST not found in " + dir.string() +
                          " (apt-get install dataset-fashion-mnist)");
  const dataset train = agd::data::load_mnist_format(dir, agd::data::split::train);
  const dataset test = agd::data::load_mnist_format(dir, agd::data::split::test);
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  CHECK(train.input_size() == 784);
  CHECK(test.input_size() == 784);
  CHECK(train.inputs.minCoeff() == 0.0f);
  CHECK(train.inputs.maxCoeff() == 1.0f);

  std::array<int, 10> histogram{};
  for (const std::int32_t label : train.labels) ++histogram.at(static_cast<std::size_t>(label));
  for (const int count : histogram) CHECK(count == 6000);

  // The values commonly quoted for Fashion-MNIST (torchvision Normalize((0.2860,), (0.3530,))).
  const agd::data::standardisation stats = agd::data::compute_standardisation(train);
  CHECK(stats.mean == Approx(0.2860).margin(1e-3));
  CHECK(stats.std == Approx(0.3530).margin(1e-3));

  dataset slice = agd::data::take(test, 0, 100);
  agd::data::apply(stats, slice);
  agd::data::scale_to_sqrt_dim(slice);
  for (Eigen::Index j = 0; j < 100; ++j) CHECK(slice.inputs.col(j).norm() == Approx(28.0f));
}
