// Errors the library throws beyond std::invalid_argument (bad arguments and shapes).
#pragma once

#include <stdexcept>
#include <string>

namespace agd {

/// A NaN or an infinity reached a training step. Thrown before any weight changes, with where
/// it came from (the input batch, the loss, or the gradient of a named layer).
class non_finite_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace agd
