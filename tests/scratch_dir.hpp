// Test support: a fresh directory under the system temp dir, removed when the test ends.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace agd_test {

struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(const std::string& prefix = "agd_test") {
    std::random_device entropy;
    path = std::filesystem::temp_directory_path() /
           (prefix + "_" + std::to_string(entropy()) + "_" + std::to_string(entropy()));
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
};

}  // namespace agd_test
