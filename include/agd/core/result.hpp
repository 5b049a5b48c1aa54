// A result of a step (eta, a loss, a count) as a number, on any backend: agd::read(result).
// The CPU backend hands out the value itself, which read() returns as it is; a device backend
// hands out a handle (agd::cuda::device_result) whose read() waits for the stream and copies
// the value back, throwing if the step failed. Reading is a synchronisation point on a device,
// so it is only ever done by a named call, never by an implicit conversion.
#pragma once

namespace agd {

template <class R>
concept readable_result = requires(const R& result) {
  result.read();
};

template <readable_result R>
auto read(const R& result) {
  return result.read();
}
template <class T>
requires(!readable_result<T>) T read(T value) {
  return value;
}

}  // namespace agd
