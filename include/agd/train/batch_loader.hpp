// How train::fit and train::evaluate put a batch of a data set into a network's input and label
// buffers. The data set stays in host memory (data::dataset); a backend whose memory is not the
// host's specialises batch_loader to keep a copy where its network runs (the CUDA backend keeps
// the data set on the device and gathers batches there: train/cuda_batch_loader.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "agd/core/errors.hpp"
#include "agd/data/dataset.hpp"

namespace agd::train {

/// Checks, once, what every batch of `data` will meet: the input size, finite inputs and labels
/// that name one of the network's outputs. Messages name the sample's index in the data set.
template <class Net>
void check_dataset(const data::dataset& data, const char* where, const char* what) {
  if (data.size() == 0)
    throw std::invalid_argument(std::string(where) + ": the " + what + " is empty");
  if (data.input_size() != Net::input_size)
    throw std::invalid_argument(
        std::string(where) + ": the " + what + " has " + std::to_string(data.input_size()) +
        " inputs per sample but the network expects " + std::to_string(Net::input_size));
  if (std::size_t(data.inputs.cols()) != data.size())
    throw std::invalid_argument(std::string(where) + ": the " + what + " has " +
                                std::to_string(data.inputs.cols()) + " input columns but " +
                                std::to_string(data.size()) + " labels");
  data::check_labels(data, Net::output_size, std::string(where) + ": the " + what);
  if (!data.inputs.allFinite()) {
    Eigen::Index row = 0, column = 0;
    (!data.inputs.array().isFinite()).template cast<int>().maxCoeff(&row, &column);
    throw non_finite_error(std::string(where) + ": input " + std::to_string(row) + " of sample " +
                           std::to_string(column) + " of the " + what + " is " +
                           std::to_string(data.inputs(row, column)) +
                           "; check the data and its preprocessing.");
  }
}

/// Batches of a host data set into a network whose memory is the host's.
template <class Net>
class batch_loader {
 public:
  using scalar_type = typename Net::scalar_type;
  batch_loader(Net& net, const data::dataset& data) : net_(net), data_(data) {}

  /// The order of the epoch about to start (fit's batches are consecutive slices of it).
  void begin_epoch(std::span<const std::size_t>) {}
  /// The samples `indices` (positions in the data set) into the first columns of the input and
  /// label buffers. (stage() and gather_staged() are the two halves of it that a captured step
  /// graph separates; on the CPU stage() does the whole of it.)
  void stage(std::span<const std::size_t> indices) { gather(indices); }
  void gather_staged() {}
  void gather(std::span<const std::size_t> indices) {
    auto inputs = net_.input_buffer();
    std::int32_t* labels = net_.label_buffer();
    for (std::size_t k = 0; k < indices.size(); ++k) {
      inputs.col(Eigen::Index(k)) =
          data_.inputs.col(Eigen::Index(indices[k])).template cast<scalar_type>();
      labels[k] = data_.labels[indices[k]];
    }
  }
  /// The n samples from `first` on, in order.
  void load_range(std::size_t first, std::size_t n) {
    net_.input_buffer().leftCols(Eigen::Index(n)) =
        data_.inputs.middleCols(Eigen::Index(first), Eigen::Index(n)).template cast<scalar_type>();
    std::copy(data_.labels.begin() + std::ptrdiff_t(first),
              data_.labels.begin() + std::ptrdiff_t(first + n), net_.label_buffer());
  }

 private:
  Net& net_;
  const data::dataset& data_;
};

}  // namespace agd::train
