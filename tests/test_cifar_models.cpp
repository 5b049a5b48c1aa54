// The paper's CIFAR-10 networks as types (examples/cnn_models.hpp): one AGD step of ResNet-18
// and of VGG-16 on the CPU lowers the loss of the batch it was taken on, and the example's
// training loop (examples/cifar_training.hpp) runs end to end on a small CIFAR-10 set written
// in the binary format (the real set cannot be downloaded here).
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "cifar_training.hpp"
#include "cnn_models.hpp"
#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;

/// `count` CIFAR-10 records (label byte, then 3x32x32 pixel bytes) whose class shows as a bright
/// square at a class-dependent place on top of noise.
void write_cifar10_file(const fs::path& file, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<char> bytes;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t label = i % 10;
    bytes.push_back(char(label));
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t y = 0; y < 32; ++y)
        for (std::size_t x = 0; x < 32; ++x) {
          const bool square = y / 8 == label / 4 && x / 8 == label % 4;
          bytes.push_back(char(square ? 200 + rng() % 56 : rng() % 100));
        }
  }
  std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

template <class Net>
void check_one_step_lowers_the_batch_loss() {
  INFO(Net::summary());
  constexpr Eigen::Index n = 4;
  Net net(n);
  agd::AGD optimizer(net, {.seed = 1});
  std::mt19937_64 rng(2);
  std::normal_distribution<float> gaussian(0.0f, 1.0f);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < Eigen::Index(Net::input_size); ++i)
      net.input_buffer()(i, j) = gaussian(rng);
  const std::vector<std::int32_t> labels{3, 1, 4, 1};
  const double before = agd::train::train_step<agd::MSELoss>(net, optimizer, labels);
  CHECK(std::isfinite(before));
  CHECK(optimizer.automatic_learning_rate() > 0);
  const double after = agd::MSELoss::value<float>(net.forward_batch(n), labels);
  CHECK(after < before);
}

}  // namespace

TEST_CASE("cifar models: one AGD step of ResNet-18 lowers the loss of its batch", "[conv][cifar]") {
  check_one_step_lowers_the_batch_loss<examples::ResNet18>();
}

TEST_CASE("cifar models: one AGD step of VGG-16 lowers the loss of its batch", "[conv][cifar]") {
  check_one_step_lowers_the_batch_loss<examples::VGG16>();
}

TEST_CASE("cifar models: the example's loop trains ResNet-18 on CIFAR-10 binary files",
          "[conv][cifar]") {
  agd_test::scratch_dir dir("cifar_models");
  for (int b = 1; b <= 5; ++b)
    write_cifar10_file(dir.path / ("data_batch_" + std::to_string(b) + ".bin"), 8, b);
  write_cifar10_file(dir.path / "test_batch.bin", 10, 99);
  examples::cifar_settings settings;
  settings.data_dir = dir.path.string();
  settings.batch = 8;
  settings.max_steps = 2;
  std::ostringstream log;
  const auto result = examples::train_cifar<examples::ResNet18>(settings, log);
  CHECK(result.steps == 2);
  CHECK(std::isfinite(result.first_loss));
  CHECK(std::isfinite(result.last_loss));
  CHECK(result.last_eta > 0);
  CHECK(result.test_accuracy >= 0);
  CHECK(result.test_accuracy <= 1);
  CHECK(log.str().find("40 training and 10 test images") != std::string::npos);
}

TEST_CASE("cifar models: a missing CIFAR-10 directory is reported by name", "[conv][cifar]") {
  examples::cifar_settings settings;
  settings.data_dir = "/nonexistent/cifar-10";
  std::ostringstream log;
  CHECK_THROWS_WITH(examples::train_cifar<examples::ResNet18>(settings, log),
                    Catch::Contains("/nonexistent/cifar-10"));
}
