// The one non-finite policy of every backend: a NaN or an infinity that reaches a training step
// (in the batch, the loss or a gradient) stops the step before any weight changes. The step
// records what it found in an execution_status, kept where the step runs (host memory on the
// CPU, device memory on CUDA): the CPU backend reads it at once and throws, the CUDA backend
// leaves every later update undone until the host next reads a result (the loss, eta, a
// progress update), which then throws the same agd::non_finite_error. Written by the shared
// maths (optim/agd_math.hpp and the losses), read by the network (network/sequential.hpp).
#pragma once

#include <cstdint>

namespace agd {

enum class status_code : std::int32_t {
  ok = 0,
  non_finite_gradient = 1,  // index: the weight k whose gradient holds a NaN or Inf
  non_finite_loss = 2,      // value: the loss
};

struct execution_status {
  status_code code = status_code::ok;
  std::int32_t index = 0;
  double value = 0;
};

}  // namespace agd
