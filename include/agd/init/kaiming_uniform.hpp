// PyTorch's default initialisation of nn.Linear, used by the paper's Adam and SGD baselines:
// kaiming_uniform_(a = sqrt(5)), i.e. W_ij ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include "agd/core/matrix.hpp"

namespace agd::init {

template <class Net>
void kaiming_uniform(Net& net, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t k = 0; k < Net::depth; ++k) {
    auto& w = net.weight(k);
    const double bound = 1.0 / std::sqrt(double(w.cols()));
    std::uniform_real_distribution<double> uniform(-bound, bound);
    for (Eigen::Index j = 0; j < w.cols(); ++j)
      for (Eigen::Index i = 0; i < w.rows(); ++i)
        w(i, j) = static_cast<typename Net::scalar_type>(uniform(rng));
  }
}

}  // namespace agd::init
