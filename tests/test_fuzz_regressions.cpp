// Replays every seed and every kept crash input of the fuzz targets (tests/fuzz) through the same
// readers in the normal test build: each must parse or throw the reader's own error, nothing
// else (for the checkpoint and training-position targets, through the very code the fuzzers
// run: tests/fuzz/*_input.hpp). A crash a fuzzer finds is fixed and its input added to
// tests/fuzz/regressions/<target>/, which also holds hand-made inputs of each reader's hazards
// (tests/fuzz/regressions/README.md).
#include <agd/data/cifar.hpp>
#include <agd/data/idx.hpp>
#include <agd/io/safetensors.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "checkpoint_input.hpp"
#include "training_position_input.hpp"

namespace {

std::vector<std::filesystem::path> inputs_of(const std::string& reader) {
  std::vector<std::filesystem::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    const auto dir = std::filesystem::path(AGD_FUZZ_DIR) / kind / reader;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

std::vector<std::uint8_t> bytes_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("fuzz regressions: every target has kept inputs besides its seeds", "[fuzz]") {
  // What the README and docs/robustness.md promise: the folder the fuzz targets' kept inputs
  // go to exists for every target and is replayed below.
  for (const char* target : {"idx", "cifar", "safetensors", "checkpoint", "training_position"}) {
    INFO(target);
    const auto dir = std::filesystem::path(AGD_FUZZ_DIR) / "regressions" / target;
    REQUIRE(std::filesystem::is_directory(dir));
    std::size_t kept = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      kept += entry.is_regular_file() ? 1 : 0;
    CHECK(kept >= 3);
  }
}

TEST_CASE("fuzz regressions: IDX reader inputs parse or throw idx_error", "[fuzz]") {
  const auto files = inputs_of("idx");
  REQUIRE(files.size() >= 6);
  std::size_t parsed = 0;
  for (const auto& file : files) {
    INFO(file);
    try {
      const auto array = agd::data::parse_idx(bytes_of(file), file);
      std::size_t declared = 1;
      for (auto d : array.dims) declared *= d;
      CHECK(declared == array.data.size());
      ++parsed;
    } catch (const agd::data::idx_error& error) {
      CHECK_THAT(error.what(), Catch::Contains(file.string()));
    }
  }
  CHECK(parsed >= 5);  // the valid seeds (raw and gzip) parse
}

TEST_CASE("fuzz regressions: CIFAR reader inputs parse or throw dataset_error", "[fuzz]") {
  const auto files = inputs_of("cifar");
  REQUIRE(files.size() >= 3);
  std::size_t parsed = 0;
  for (const auto& file : files) {
    INFO(file);
    const auto bytes = bytes_of(file);
    for (auto kind : {agd::data::cifar_kind::cifar10, agd::data::cifar_kind::cifar100_fine}) {
      try {
        const auto data = agd::data::parse_cifar(bytes, kind, file.string());
        CHECK(data.inputs.rows() == 3072);
        CHECK(std::size_t(data.inputs.cols()) == data.size());
        ++parsed;
      } catch (const agd::data::dataset_error& error) {
        CHECK_THAT(error.what(), Catch::Contains(file.string()));
      }
    }
  }
  CHECK(parsed >= 2);
}

TEST_CASE("fuzz regressions: safetensors inputs load or throw checkpoint_error", "[fuzz]") {
  const auto files = inputs_of("safetensors");
  REQUIRE(files.size() >= 4);
  std::size_t loaded = 0;
  for (const auto& file : files) {
    INFO(file);
    try {
      agd::io::safetensors_reader reader(file);
      for (const auto& [name, tensor] : reader.tensors())
        if (tensor.shape.size() == 2) {
          const auto m = reader.read_matrix<float>(name);
          CHECK(std::uint64_t(m.rows()) == tensor.shape[0]);
        }
      ++loaded;
    } catch (const agd::io::checkpoint_error& error) {
      CHECK_THAT(error.what(), Catch::Contains(file.string()));
    }
  }
  CHECK(loaded >= 4);
}

TEST_CASE("fuzz regressions: checkpoint inputs load or throw checkpoint_error, changing nothing",
          "[fuzz]") {
  const auto files = inputs_of("checkpoint");
  REQUIRE(files.size() >= 4);
  for (const auto& file : files) {
    INFO(file);
    CHECK(agd_fuzz::check_checkpoint_file(file));
  }
}

TEST_CASE("fuzz regressions: training positions are refused or resume fit to the end", "[fuzz]") {
  const auto files = inputs_of("training_position");
  REQUIRE(files.size() >= 4);
  for (const auto& file : files) {
    INFO(file);
    const auto bytes = bytes_of(file);
    CHECK(agd_fuzz::check_position_input(std::string(bytes.begin(), bytes.end())));
  }
  // The seeds are valid positions: each parses.
  for (const char* seed : {"mid_epoch", "epoch_start", "without_run_settings", "values_in_order"}) {
    INFO(seed);
    const auto bytes =
        bytes_of(std::filesystem::path(AGD_FUZZ_DIR) / "corpus" / "training_position" / seed);
    CHECK_NOTHROW(agd::train::training_position::from_metadata(
        agd_fuzz::position_metadata_of(std::string(bytes.begin(), bytes.end()))));
  }
}
