// In-memory classification dataset, the MNIST/Fashion-MNIST loader and input preprocessing.
//
// Inputs are stored one column per sample so that a mini-batch is a block of columns and a layer
// computes W * X directly, matching the d_l x d_{l-1} weight convention of the AGD paper.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "agd/core/file_checks.hpp"
#include "agd/data/idx.hpp"

namespace agd::data {

// Thrown when the files read fine on their own but do not form a usable dataset together, or a
// dataset file cannot be found.
class dataset_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct dataset {
  // input_size() x size(): column j holds sample j (an image's pixels in row-major order for
  // IDX; channel-major C, H, W for CIFAR; a CSV row's features in file order).
  Eigen::MatrixXf inputs;
  // labels[j] is the class of sample j, in [0, classes).
  std::vector<std::int32_t> labels;
  // The number of classes; a network trained on the set needs this many outputs.
  int classes = 10;

  std::size_t size() const { return labels.size(); }
  std::size_t input_size() const { return static_cast<std::size_t>(inputs.rows()); }
};

// Checks that a data set can be trained or evaluated on by a network with `classes` outputs:
// one input column per label, and every label in [0, classes). `what` names the data set in the
// message, e.g. "agd::train::fit: the training set"; a bad label is named by its sample's index
// in the data set, so that it can be found and fixed there.
inline void check_labels(const dataset& data, std::size_t classes, const std::string& what) {
  if (static_cast<std::size_t>(data.inputs.cols()) != data.labels.size())
    throw dataset_error(what + " has " + std::to_string(data.inputs.cols()) +
                        " input columns but " + std::to_string(data.labels.size()) +
                        " labels; each sample (column) needs exactly one label");
  for (std::size_t i = 0; i < data.labels.size(); ++i)
    if (data.labels[i] < 0 || static_cast<std::size_t>(data.labels[i]) >= classes)
      throw dataset_error(what + ": the label of sample " + std::to_string(i) + " is " +
                          std::to_string(data.labels[i]) + ", outside 0.." +
                          std::to_string(classes - 1) + " (the network has " +
                          std::to_string(classes) +
                          " outputs, one per class); fix the data or "
                          "give the network as many outputs as there are classes");
}

// Reads an image file (rank 3: count x rows x cols) and its label file (rank 1: count). Pixels
// become floats pixel/255 in [0, 1]. Throws idx_error for a bad file and dataset_error when the
// pair does not match or a label is not one of the 10 classes.
inline dataset load_idx_pair(const std::filesystem::path& images,
                             const std::filesystem::path& labels) {
  constexpr int class_count = 10;
  const idx_array image_array = read_idx(images, 3);
  const idx_array label_array = read_idx(labels, 1);

  const std::size_t image_count = image_array.dims[0];
  const std::size_t label_count = label_array.dims[0];
  if (image_count != label_count) {
    throw dataset_error("agd: image file '" + images.string() + "' holds " +
                        std::to_string(image_count) + " images but label file '" + labels.string() +
                        "' holds " + std::to_string(label_count) +
                        " labels; each image needs exactly one label, so pass a matching pair "
                        "(both train-* or both t10k-*)");
  }

  dataset result;
  result.classes = class_count;
  result.labels.resize(label_count);
  for (std::size_t i = 0; i < label_count; ++i) {
    const std::uint8_t label = label_array.data[i];
    if (label >= class_count) {
      throw dataset_error("agd: label file '" + labels.string() + "': label at index " +
                          std::to_string(i) + " is " + std::to_string(label) +
                          ", but labels must be below " + std::to_string(class_count) +
                          " (the classes of MNIST/Fashion-MNIST); the file is corrupt or not a "
                          "label file");
    }
    result.labels[i] = label;
  }

  // Row-major count x pixels bytes are exactly a column-major pixels x count matrix.
  const auto pixels = static_cast<Eigen::Index>(image_array.dims[1]) *
                      static_cast<Eigen::Index>(image_array.dims[2]);
  const auto count = static_cast<Eigen::Index>(image_count);
  using byte_matrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const byte_matrix> raw(image_array.data.data(), pixels, count);
  result.inputs = raw.cast<float>() / 255.0f;
  return result;
}

enum class split { train, test };

inline const std::filesystem::path default_fashion_mnist_dir{"/usr/share/datasets/fashion-mnist"};

namespace detail {

// Finds `name` or `name.gz` in dir, preferring the uncompressed file because it loads faster.
// Something at either path that is not a regular file (a directory, a loop of symbolic links, a
// FIFO) is reported as what it is, not as a missing file.
inline std::filesystem::path find_mnist_file(const std::filesystem::path& dir,
                                             const std::string& name) {
  for (const std::filesystem::path& candidate : {dir / name, dir / (name + ".gz")}) {
    std::error_code error;
    const auto link_status = std::filesystem::symlink_status(candidate, error);
    if (link_status.type() == std::filesystem::file_type::not_found) continue;
    try {
      if (io::detail::check_readable_regular_file(candidate, "agd: dataset file", true))
        return candidate;
    } catch (const io::file_error& problem) {
      throw dataset_error(problem.what());
    }
  }
  std::error_code error;
  const auto dir_status = std::filesystem::status(dir, error);
  if (dir_status.type() != std::filesystem::file_type::directory &&
      dir_status.type() != std::filesystem::file_type::not_found)
    throw dataset_error("agd: dataset directory '" + dir.string() + "' is " +
                        std::string(io::detail::describe_file_type(dir_status.type())) +
                        ", not a directory; pass --data DIR naming a directory with the "
                        "MNIST-format files");
  throw dataset_error("agd: dataset directory '" + dir.string() + "' " +
                      (dir_status.type() == std::filesystem::file_type::not_found
                           ? std::string("does not exist, so it has neither '")
                           : std::string("has neither '")) +
                      name + "' nor '" + name +
                      ".gz'; install Fashion-MNIST with `apt-get install dataset-fashion-mnist` "
                      "(it goes to " +
                      default_fashion_mnist_dir.string() +
                      ") or pass --data DIR naming a directory with the MNIST-format files");
}

}  // namespace detail

// Loads one split from a directory in the MNIST file layout (train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz).
inline dataset load_mnist_format(const std::filesystem::path& dir, split which) {
  const std::string prefix = which == split::train ? "train" : "t10k";
  const std::filesystem::path images = detail::find_mnist_file(dir, prefix + "-images-idx3-ubyte");
  const std::filesystem::path labels = detail::find_mnist_file(dir, prefix + "-labels-idx1-ubyte");
  return load_idx_pair(images, labels);
}

// A single mean and standard deviation for all pixels, as torchvision's Normalize((mean,), (std,))
// applies them for grayscale images.
struct standardisation {
  float mean;
  float std;
};

// Mean and population standard deviation over every pixel of the training set. Accumulates in
// double because 47 million float additions would otherwise lose digits. Two passes rather than
// E[x^2] - E[x]^2 to avoid cancellation.
inline standardisation compute_standardisation(const dataset& train) {
  if (train.inputs.size() == 0) {
    throw std::invalid_argument(
        "agd: compute_standardisation: the dataset is empty; load the training set first");
  }
  const double count = static_cast<double>(train.inputs.size());
  const double mean = train.inputs.cast<double>().sum() / count;
  const double variance = (train.inputs.cast<double>().array() - mean).square().sum() / count;
  return {static_cast<float>(mean), static_cast<float>(std::sqrt(variance))};
}

// x -> (x - mean) / std for every input value.
inline void apply(const standardisation& stats, dataset& data) {
  if (!(stats.std > 0.0f) || !std::isfinite(stats.std) || !std::isfinite(stats.mean)) {
    throw std::invalid_argument(
        "agd: apply(standardisation): std must be positive and finite and "
        "mean finite, got mean " +
        std::to_string(stats.mean) + " std " + std::to_string(stats.std) +
        "; a constant training set cannot be standardised");
  }
  data.inputs = (data.inputs.array() - stats.mean) / stats.std;
}

// Prescription 1 of the AGD paper: every input has Euclidean norm sqrt(d0), so each input entry is
// of order one whatever the input dimension. A zero column has no direction and stays zero.
inline void scale_to_sqrt_dim(dataset& data) {
  const float target_norm = std::sqrt(static_cast<float>(data.inputs.rows()));
  for (Eigen::Index j = 0; j < data.inputs.cols(); ++j) {
    const float norm = data.inputs.col(j).norm();
    if (norm > 0.0f) data.inputs.col(j) *= target_norm / norm;
  }
}

// Copies samples [first, first + count) into a new dataset, e.g. to make a small test slice.
inline dataset take(const dataset& data, std::size_t first, std::size_t count) {
  if (first > data.size() || count > data.size() - first) {
    throw std::out_of_range("agd: take: samples [" + std::to_string(first) + ", " +
                            std::to_string(first) + " + " + std::to_string(count) +
                            ") are not all within a dataset of " + std::to_string(data.size()) +
                            " samples");
  }
  dataset slice;
  slice.classes = data.classes;
  slice.inputs =
      data.inputs.middleCols(static_cast<Eigen::Index>(first), static_cast<Eigen::Index>(count));
  slice.labels.assign(data.labels.begin() + static_cast<std::ptrdiff_t>(first),
                      data.labels.begin() + static_cast<std::ptrdiff_t>(first + count));
  return slice;
}

}  // namespace agd::data
