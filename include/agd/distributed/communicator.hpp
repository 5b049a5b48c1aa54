// What data-parallel training needs from a group of processes ("ranks"), whatever carries it:
// sums over the ranks of gradient buffers where the network keeps them (started one bucket at a
// time, so that they can run while the backward pass goes on), a few host-side numbers the
// ranks must agree on, and a way to stop every rank.
//
// This header is MPI-free: agd::train::fit takes a communicator through this interface
// (fit_options::distributed), and the implementations live in their own headers, included only
// by programs that opt in: agd/distributed/mpi.hpp (host memory, CPU networks) and
// agd/distributed/nccl.hpp (device memory, CUDA networks; bootstrapped over MPI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace agd::distributed {

/// Where the data of a communicator's sums lives.
enum class memory_space { host, cuda_device };

/// A group of ranks that run the same program on their share of the data. Every rank must make
/// the same calls in the same order (they are collective), with the same counts.
class communicator {
 public:
  virtual ~communicator() = default;

  /// This process's index in the group, 0 to size() - 1; rank 0 does the group's I/O.
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  /// What carries the data, for messages: "MPI", "NCCL".
  virtual std::string name() const = 0;
  /// Where start_sum's data must be (a CPU network's buffers: host; a CUDA network's: device).
  virtual memory_space memory() const = 0;

  // Sums over the ranks, in place. start_sum begins one; finish_sums returns when every sum
  // begun is complete (host memory), or has ordered them before the work the network's stream
  // runs next (device memory). progress() lets sums under way advance (MPI moves a
  // non-blocking collective only inside its own calls): call it between pieces of other work.
  virtual void start_sum(float* data, std::size_t count) = 0;
  virtual void start_sum(double* data, std::size_t count) = 0;
  virtual void progress() {}
  virtual void finish_sums() = 0;

  // Host-side and blocking: the few numbers the ranks must agree on, outside the step.

  /// Sums `values` over the ranks, in place.
  virtual void sum_on_host(std::span<double> values) = 0;
  /// Every rank's `mine` (the same length on every rank), rank after rank.
  virtual std::vector<std::uint64_t> gather_on_host(std::span<const std::uint64_t> mine) = 0;

  /// Stops every rank of the job: writes "agd::distributed: rank r of n: <message>" to stderr
  /// and ends the processes with a non-zero status. For an error only this rank knows of (the
  /// others would otherwise wait for it in their next sum).
  [[noreturn]] virtual void abort(const std::string& message) = 0;
};

}  // namespace agd::distributed
