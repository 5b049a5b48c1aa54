// Test support shared by the checkpoint tests (test_checkpoint.cpp, test_checkpoint_agd.cpp).
#pragma once

#include <agd/io/checkpoint.hpp>
#include <agd/optim/adam.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "scratch_dir.hpp"

namespace agd_test {

template <class N>
bool same_weights(const N& a, const N& b) {
  for (std::size_t k = 0; k < N::depth; ++k)
    if (a.weight(k) != b.weight(k)) return false;
  return true;
}

/// An Adam checkpoint loaded with optimiser Opt (named `name` in its files) is refused, naming
/// both optimisers and load_weights, and changes no weight; load_weights alone then loads it.
template <class Net, template <class> class Opt>
void check_adam_checkpoint_refused_by(const std::string& name) {
  scratch_dir dir("agd_checkpoint");
  const std::filesystem::path file = dir.path / "adam.safetensors";
  Net net(1);
  agd::Adam adam(net);
  agd::io::save_checkpoint(file, net, adam);

  Net other(1);
  Opt<Net> optimizer(other);
  const Net before = other;
  CHECK_THROWS_WITH(
      agd::io::load_checkpoint(file, other, optimizer),
      Catch::Contains("saved with the 'adam' optimiser but is being loaded into '" + name + "'") &&
          Catch::Contains("load_weights"));
  CHECK(same_weights(other, before));
  agd::io::load_weights(file, other);  // the weights alone do load; the moments are ignored
  CHECK(same_weights(other, net));
}

}  // namespace agd_test
