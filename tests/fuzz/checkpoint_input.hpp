// What fuzz_checkpoint does with one input file, shared with test_fuzz_regressions so that kept
// inputs are replayed through the same code: agd::io::load_checkpoint and load_weights into a
// small network with Adam (whose moments are optimiser-state tensors), and the training position
// read from the metadata of any file that loads. Each must succeed or throw its own error
// (checkpoint_error; std::invalid_argument from the position), and a load that throws must
// change nothing. Returns false when that does not hold.
#pragma once

#include <agd/io/checkpoint.hpp>
#include <agd/layers/dense.hpp>
#include <agd/optim/adam.hpp>
#include <agd/sequential.hpp>
#include <agd/train/position.hpp>

#include <filesystem>
#include <stdexcept>

namespace agd_fuzz {

// Dense layers only: clang-14, which builds the fuzzers, cannot compile the activations (their
// gain is a double template argument).
using checkpoint_net = agd::Sequential<agd::Dense<4, 3>, agd::Dense<3, 2>>;

inline bool same_weights(const checkpoint_net& a, const checkpoint_net& b) {
  for (std::size_t k = 0; k < checkpoint_net::depth; ++k)
    if (a.weight(k) != b.weight(k)) return false;
  return true;
}

/// Loads `file` every way; true if every outcome was a result or the function's own error.
inline bool check_checkpoint_file(const std::filesystem::path& file) {
  static checkpoint_net net(1);
  static agd::Adam<checkpoint_net> optimizer(net, {.seed = 1});
  const checkpoint_net before = net;
  try {
    const auto info = agd::io::load_checkpoint(file, net, optimizer);
    try {
      static_cast<void>(agd::train::training_position::from_metadata(info.extra));
    } catch (const std::invalid_argument&) {
    }
  } catch (const agd::io::checkpoint_error&) {
    if (!same_weights(net, before)) return false;  // a failed load changed the network
  }
  const checkpoint_net loaded = net;
  try {
    static_cast<void>(agd::io::load_weights(file, net));
  } catch (const agd::io::checkpoint_error&) {
    if (!same_weights(net, loaded)) return false;
  }
  return true;
}

}  // namespace agd_fuzz
