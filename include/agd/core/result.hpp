// A result of a step (eta, a loss, a count) as a number, on any backend: agd::read(result).
// The CPU backend hands out the value itself, which read() returns as it is; a device backend
// hands out a handle (agd::cuda::device_result) whose read() waits for the stream and copies
// the value back, throwing if the step failed. Reading is a synchronisation point on a device,
// so it is only ever done by a named call, never by an implicit conversion.
#pragma once

namespace agd {

/// Whether R is a deferred result, read by R::read(): declared by the backend that hands it out
/// (backend/cuda/backend.hpp specialises it for its device_result); a plain value is not.
template <class R>
struct result_traits {
  static constexpr bool deferred = false;
};

template <class R>
auto read(const R& result) {
  if constexpr (result_traits<R>::deferred)
    return result.read();
  else
    return result;
}

}  // namespace agd
