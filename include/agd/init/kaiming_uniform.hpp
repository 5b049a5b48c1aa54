// PyTorch's default initialisation of nn.Linear, used by the paper's Adam and SGD baselines:
// kaiming_uniform_(a = sqrt(5)), i.e. W_ij ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "agd/init/orthogonal.hpp"

namespace agd::init {

template <class Net>
void kaiming_uniform(Net& net, std::uint64_t seed) {
  using arch = typename Net::architecture_type;
  init::fill_weights(net, [&](typename Net::scalar_type* flat) {
    std::mt19937_64 rng(seed);
    for (std::size_t k = 0; k < arch::depth; ++k) {
      const double bound = 1.0 / std::sqrt(double(arch::weight_cols[k]));
      std::uniform_real_distribution<double> uniform(-bound, bound);
      // Column by column, as the matrices are stored.
      const std::size_t size = arch::weight_rows[k] * arch::weight_cols[k];
      for (std::size_t e = 0; e < size; ++e)
        flat[arch::weight_offsets[k] + e] = static_cast<typename Net::scalar_type>(uniform(rng));
    }
  });
}

}  // namespace agd::init
