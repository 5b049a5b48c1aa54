// MPI as an agd::distributed::communicator, for data-parallel training of CPU networks
// (docs/distributed.md). The one header of agd that needs MPI: a program that includes it links
// MPI (CMake: find_package(MPI REQUIRED COMPONENTS CXX), then MPI::MPI_CXX; Debian:
// libopenmpi-dev) and is launched with mpirun or srun.
//
//   int main(int argc, char** argv) {
//     agd::distributed::mpi_session mpi(argc, argv);     // MPI_Init ... MPI_Finalize
//     agd::distributed::mpi_communicator ranks;          // MPI_COMM_WORLD
//     Net net(128);                                       // 128 samples per rank and step
//     agd::AGD optimizer(net, {.seed = 0});               // the same seed on every rank
//     agd::train::fit_options options;
//     options.distributed.comm = &ranks;
//     agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options);
//   }
//
// Sums are MPI_Iallreduce calls on the gradient buffer (in buckets, started as the backward pass
// finishes them), progressed with MPI_Testall between layers. No wait is unbounded: a rank that
// waits longer than mpi_options::timeout for the others (one died, or hangs) stops the job with
// MPI_Abort and a message, as does any failed MPI call (the error handler of agd's communicator
// returns errors instead of MPI's default of aborting without saying where).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agd/distributed/communicator.hpp"

namespace agd::distributed {

/// MPI could not be started or used as asked.
class mpi_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
inline std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error " + std::to_string(code);
  return std::string(text, std::size_t(length));
}
}  // namespace detail

/// MPI for the lifetime of this object: initialised unless the program already has, finalised at
/// the end if this object initialised it. Only the thread that calls fit talks to MPI (agd's pool
/// threads never do), so MPI_THREAD_FUNNELED is asked for.
class mpi_session {
 public:
  mpi_session() : mpi_session(nullptr, nullptr) {}
  mpi_session(int& argc, char**& argv) : mpi_session(&argc, &argv) {}
  ~mpi_session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owner_ && !finalized) MPI_Finalize();
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;

 private:
  mpi_session(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    const int status = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (status != MPI_SUCCESS)
      throw mpi_error("agd::distributed::mpi_session: MPI_Init_thread failed: " +
                      detail::mpi_error_text(status));
    owner_ = true;
  }
  bool owner_ = false;
};

struct mpi_options {
  /// The longest a rank waits for the others in a sum or a check before it stops the job: long
  /// enough for rank 0 to write a checkpoint while the others wait for the next step.
  std::chrono::duration<double> timeout = std::chrono::minutes(10);
};

/// The ranks of an MPI communicator (MPI_COMM_WORLD by default; agd works on its own duplicate
/// of it), summing host memory: CPU networks.
class mpi_communicator final : public communicator {
 public:
  explicit mpi_communicator(MPI_Comm group = MPI_COMM_WORLD, mpi_options options = {})
      : options_(options) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized)
      throw mpi_error(
          "agd::distributed::mpi_communicator: MPI is not initialised; construct an "
          "agd::distributed::mpi_session first (at the start of main)");
    if (!(options_.timeout.count() > 0))
      throw std::invalid_argument("agd::distributed::mpi_communicator: the timeout must be > 0");
    call(MPI_Comm_dup(group, &comm_), "MPI_Comm_dup");
    call(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    int rank = 0, size = 0;
    call(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
    call(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
    rank_ = std::size_t(rank);
    size_ = std::size_t(size);
    // The ranks that share this machine (to split its cores between them).
    MPI_Comm node = MPI_COMM_NULL;
    call(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node),
         "MPI_Comm_split_type");
    call(MPI_Comm_rank(node, &rank), "MPI_Comm_rank");
    call(MPI_Comm_size(node, &size), "MPI_Comm_size");
    node_rank_ = std::size_t(rank);
    node_size_ = std::size_t(size);
    MPI_Comm_free(&node);
    requests_.reserve(64);
  }
  ~mpi_communicator() override {
    // Sums still under way (after an exception) keep the communicator; it goes with MPI.
    if (requests_.empty() && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  mpi_communicator(const mpi_communicator&) = delete;
  mpi_communicator& operator=(const mpi_communicator&) = delete;

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }
  std::string name() const override { return "MPI"; }
  memory_space memory() const override { return memory_space::host; }
  /// This rank's index among the ranks on its machine, and their number: a program gives each
  /// rank hardware_concurrency() / ranks_on_this_node() threads (agd::set_threads).
  std::size_t rank_on_this_node() const { return node_rank_; }
  std::size_t ranks_on_this_node() const { return node_size_; }
  /// The duplicate communicator agd uses (for a program's own MPI calls, keep to yours).
  MPI_Comm handle() const { return comm_; }
  const mpi_options& options() const { return options_; }

  void start_sum(float* data, std::size_t count) override { start(data, count, MPI_FLOAT); }
  void start_sum(double* data, std::size_t count) override { start(data, count, MPI_DOUBLE); }
  void progress() override {
    if (requests_.empty()) return;
    int done = 0;
    call(MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
         "MPI_Testall");
    if (done) requests_.clear();
  }
  void finish_sums() override { wait("the sums of a training step"); }

  void sum_on_host(std::span<double> values) override {
    start(values.data(), values.size(), MPI_DOUBLE);
    wait("a sum of the ranks' figures");
  }
  std::vector<std::uint64_t> gather_on_host(std::span<const std::uint64_t> mine) override {
    std::vector<std::uint64_t> all(mine.size() * size_);
    requests_.push_back(MPI_REQUEST_NULL);
    call(MPI_Iallgather(mine.data(), int(mine.size()), MPI_UINT64_T, all.data(), int(mine.size()),
                        MPI_UINT64_T, comm_, &requests_.back()),
         "MPI_Iallgather");
    wait("the check that every rank runs the same training");
    return all;
  }

  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "agd::distributed: rank %zu of %zu: %s; stopping every rank\n", rank_,
                 size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);  // MPI_Abort does not return; should it, this process still stops
  }

 private:
  /// A failed MPI call leaves the ranks' collectives out of step: nothing to recover, so stop.
  void call(int status, const char* what) {
    if (status != MPI_SUCCESS)
      abort(std::string(what) + " failed: " + detail::mpi_error_text(status) +
            " (another rank has probably stopped)");
  }

  template <class T>
  void start(T* data, std::size_t count, MPI_Datatype type) {
    // MPI counts are ints: a buffer of more than 2^31 - 1 values goes in pieces.
    constexpr std::size_t piece = std::size_t(1) << 30;
    for (std::size_t done = 0; done < count; done += piece) {
      requests_.push_back(MPI_REQUEST_NULL);
      call(MPI_Iallreduce(MPI_IN_PLACE, data + done, int(std::min(piece, count - done)), type,
                          MPI_SUM, comm_, &requests_.back()),
           "MPI_Iallreduce");
    }
  }

  /// Waits for every request under way, at most options_.timeout.
  void wait(const char* what) {
    using clock = std::chrono::steady_clock;
    const auto deadline =
        clock::now() + std::chrono::duration_cast<clock::duration>(options_.timeout);
    for (unsigned polls = 0; !requests_.empty(); ++polls) {
      progress();
      if (requests_.empty()) break;
      // Busy for a moment (a sum is usually close to done), then polite to other processes on
      // an oversubscribed machine.
      if (polls > 1000) std::this_thread::yield();
      if (polls % 1024 == 1023 && clock::now() > deadline)
        abort("waited " + std::to_string(int(options_.timeout.count())) +
              " s for the other ranks in " + what +
              ": a rank has stopped (it died, or hangs) or is far behind (mpi_options::timeout "
              "sets how long to wait)");
    }
  }

  mpi_options options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::size_t rank_ = 0, size_ = 1, node_rank_ = 0, node_size_ = 1;
  std::vector<MPI_Request> requests_;
};

}  // namespace agd::distributed
