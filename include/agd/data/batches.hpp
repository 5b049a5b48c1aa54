// Seeded, shuffled mini-batch sampling without allocation in the training loop.
//
// Each epoch's order depends only on (seed, epoch index), never on earlier epochs or on the
// standard library's distribution implementation, so a run can be reproduced, or resumed at an
// epoch, on any platform.
#pragma once

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agd/data/dataset.hpp"

namespace agd::data {

namespace detail {

// SplitMix64 finaliser: spreads (seed, epoch) over all 64 bits so that nearby seeds and epochs
// give unrelated generator states.
inline std::uint64_t mix64(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

// Uniform draw from [0, bound) by rejection, so every value is exactly equally likely.
// 2^64 mod bound low values are rejected, leaving a whole number of copies of [0, bound).
inline std::uint64_t uniform_below(std::mt19937_64& generator, std::uint64_t bound) {
  const std::uint64_t rejected_below = (0 - bound) % bound;  // == 2^64 mod bound
  for (;;) {
    const std::uint64_t draw = generator();
    if (draw >= rejected_below) return draw % bound;
  }
}

}  // namespace detail

class batch_sampler {
 public:
  // drop_last skips the final short batch so every step sees the same batch size.
  batch_sampler(std::size_t dataset_size, std::size_t batch_size, std::uint64_t seed,
                bool drop_last = true)
      : batch_size_(batch_size), seed_(seed), drop_last_(drop_last), order_(dataset_size) {
    if (dataset_size == 0) {
      throw std::invalid_argument("agd: batch_sampler: the dataset is empty");
    }
    if (batch_size == 0) {
      throw std::invalid_argument("agd: batch_sampler: batch size must be at least 1");
    }
    if (drop_last && batch_size > dataset_size) {
      throw std::invalid_argument(
          "agd: batch_sampler: batch size " + std::to_string(batch_size) +
          " exceeds the dataset size " + std::to_string(dataset_size) +
          " with drop_last, so every epoch would be empty; use a smaller batch");
    }
  }

  // Starts the next epoch (epoch 0 on the first call) with a fresh shuffle.
  void start_epoch() { start_epoch(started_ ? epoch_ + 1 : 0); }

  // Starts the given epoch, e.g. to resume training; its order is the same as when it was reached
  // by successive start_epoch() calls.
  void start_epoch(std::uint64_t epoch_index) {
    epoch_ = epoch_index;
    started_ = true;
    position_ = 0;
    // Restart from the identity so the shuffle depends on (seed, epoch) only.
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    generator_.seed(detail::mix64(seed_ ^ detail::mix64(epoch_index)));
    // Fisher-Yates: position i takes a uniformly chosen element of the not-yet-placed prefix.
    for (std::size_t i = order_.size() - 1; i > 0; --i) {
      const auto j = static_cast<std::size_t>(detail::uniform_below(generator_, i + 1));
      std::swap(order_[i], order_[j]);
    }
  }

  std::size_t batches_per_epoch() const {
    return drop_last_ ? order_.size() / batch_size_
                      : (order_.size() + batch_size_ - 1) / batch_size_;
  }

  // Points indices at the next batch's sample indices (valid until the next start_epoch) and
  // returns true, or returns false once the epoch is exhausted.
  bool next(std::span<const std::size_t>& indices) {
    if (!started_) {
      throw std::logic_error("agd: batch_sampler::next called before start_epoch()");
    }
    const std::size_t remaining = order_.size() - position_;
    if (remaining == 0 || (drop_last_ && remaining < batch_size_)) {
      indices = {};
      return false;
    }
    const std::size_t count = remaining < batch_size_ ? remaining : batch_size_;
    indices = std::span<const std::size_t>(order_.data() + position_, count);
    position_ += count;
    return true;
  }

  // The whole order of the epoch in progress (the batches are its consecutive slices).
  std::span<const std::size_t> epoch_order() const { return order_; }

  // Index of the epoch in progress (0 before the first start_epoch too).
  std::uint64_t epoch() const { return epoch_; }

  std::size_t batch_size() const { return batch_size_; }
  std::size_t dataset_size() const { return order_.size(); }

 private:
  std::size_t batch_size_;
  std::uint64_t seed_;
  bool drop_last_;
  std::vector<std::size_t> order_;  // allocated once; permuted in place every epoch
  std::mt19937_64 generator_;
  std::uint64_t epoch_ = 0;
  bool started_ = false;
  std::size_t position_ = 0;
};

// Copies the samples named by indices into the first indices.size() columns of inputs and
// entries of labels, both preallocated by the caller so the training loop does not allocate.
template <class Derived>
void gather_batch(const dataset& data, std::span<const std::size_t> indices,
                  Eigen::MatrixBase<Derived>& inputs, std::span<std::int32_t> labels) {
  if (inputs.rows() != data.inputs.rows()) {
    throw std::invalid_argument("agd: gather_batch: batch matrix has " +
                                std::to_string(inputs.rows()) + " rows but samples have " +
                                std::to_string(data.inputs.rows()) + " inputs");
  }
  if (static_cast<std::size_t>(inputs.cols()) < indices.size()) {
    throw std::invalid_argument("agd: gather_batch: batch matrix has " +
                                std::to_string(inputs.cols()) + " columns but " +
                                std::to_string(indices.size()) + " samples were requested");
  }
  if (labels.size() < indices.size()) {
    throw std::invalid_argument("agd: gather_batch: label buffer holds " +
                                std::to_string(labels.size()) + " but " +
                                std::to_string(indices.size()) + " samples were requested");
  }
  if (static_cast<std::size_t>(data.inputs.cols()) != data.size()) {
    throw std::invalid_argument("agd: gather_batch: dataset has " +
                                std::to_string(data.inputs.cols()) + " input columns but " +
                                std::to_string(data.size()) + " labels");
  }
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= data.size()) {
      throw std::invalid_argument("agd: gather_batch: sample index " + std::to_string(indices[k]) +
                                  " (batch position " + std::to_string(k) +
                                  ") is outside a dataset of " + std::to_string(data.size()) +
                                  " samples");
    }
  }
  for (std::size_t k = 0; k < indices.size(); ++k) {
    inputs.col(static_cast<Eigen::Index>(k)) =
        data.inputs.col(static_cast<Eigen::Index>(indices[k]))
            .template cast<typename Derived::Scalar>();
    labels[k] = data.labels[indices[k]];
  }
}

/// The same into a temporary view of a buffer (e.g. a network's input_buffer(), an Eigen::Map).
template <typename Derived>
void gather_batch(const dataset& data, std::span<const std::size_t> indices,
                  Eigen::MatrixBase<Derived>&& inputs, std::span<std::int32_t> labels) {
  gather_batch(data, indices, inputs, labels);
}

}  // namespace agd::data
