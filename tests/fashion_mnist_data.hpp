// Where the tests that use the real Fashion-MNIST find it, and whether it is there (they skip,
// saying so, where it is not: tests/skip.hpp).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace agd_test {

/// Where the tests look for Fashion-MNIST: the environment's AGD_FASHION_MNIST_DIR when set (so
/// that a run can point elsewhere, e.g. at an empty folder, without a rebuild), else the build's
/// (CMake's AGD_FASHION_MNIST_DIR, by default Debian's /usr/share/datasets/fashion-mnist).
inline std::filesystem::path fashion_mnist_dir() {
  if (const char* dir = std::getenv("AGD_FASHION_MNIST_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return AGD_FASHION_MNIST_DIR;
}

/// Whether the training images and labels are there (raw or gzip).
inline bool have_fashion_mnist() {
  const std::filesystem::path dir = fashion_mnist_dir();
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"})
    if (!std::filesystem::exists(dir / name) &&
        !std::filesystem::exists(dir / (std::string(name) + ".gz")))
      return false;
  return true;
}

}  // namespace agd_test
