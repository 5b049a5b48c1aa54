// NCCL as an agd::distributed::communicator, for data-parallel training of CUDA networks
// (docs/distributed.md): one rank per GPU, the gradient sums run on the network's own stream
// (ncclAllReduce, ordered with the backward pass's kernels), the few host-side numbers go over
// MPI, which also starts the ranks and hands them NCCL's unique id. Needs nvcc, NCCL (it ships
// with the CUDA toolkit: nccl.h and libnccl in /usr/local/cuda) and MPI; a program links
// MPI::MPI_CXX, CUDA's runtime and -lnccl.
//
//   agd::distributed::mpi_session mpi(argc, argv);
//   agd::distributed::mpi_communicator ranks;            // host side, and the bootstrap
//   cudaSetDevice(int(ranks.rank_on_this_node()));       // one GPU per rank, before the network
//   typename Net::template on<agd::cuda::device> net(128);
//   agd::distributed::nccl_communicator gpus(ranks, net.context().stream);
//   options.distributed.comm = &gpus;
//
// Status: compile-tested with nvcc only (tests/distributed/nccl_compile.cu); never run on a GPU
// here. A wait is bounded as on MPI: finish_sums looks at an event recorded after the sums and at
// NCCL's asynchronous error state, and after mpi_options::timeout aborts the NCCL communicator
// and stops the job.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agd/distributed/communicator.hpp"
#include "agd/distributed/mpi.hpp"

namespace agd::distributed {

class nccl_communicator final : public communicator {
 public:
  /// The ranks of `host` (the same group, the same rank numbers), summing device memory on
  /// `stream` (the network's: net.context().stream). The current CUDA device is this rank's.
  nccl_communicator(mpi_communicator& host, cudaStream_t stream) : host_(host), stream_(stream) {
    ncclUniqueId id{};
    if (host_.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (MPI_Bcast(&id, int(sizeof id), MPI_BYTE, 0, host_.handle()) != MPI_SUCCESS)
      host_.abort("agd::distributed::nccl_communicator: MPI_Bcast of NCCL's unique id failed");
    check(ncclCommInitRank(&comm_, int(host_.size()), id, int(host_.rank())), "ncclCommInitRank");
    check_cuda(cudaEventCreateWithFlags(&sums_done_, cudaEventDisableTiming), "cudaEventCreate");
  }
  ~nccl_communicator() override {
    if (sums_done_) cudaEventDestroy(sums_done_);
    if (comm_) ncclCommDestroy(comm_);
  }
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;

  std::size_t rank() const override { return host_.rank(); }
  std::size_t size() const override { return host_.size(); }
  std::string name() const override { return "NCCL"; }
  memory_space memory() const override { return memory_space::cuda_device; }

  void start_sum(float* data, std::size_t count) override { start(data, count, ncclFloat32); }
  void start_sum(double* data, std::size_t count) override { start(data, count, ncclFloat64); }
  /// The sums are on the network's stream, before whatever it runs next (the optimiser's step);
  /// the host waits for them here, boundedly, so that a dead or hung rank stops the job instead
  /// of leaving this one blocked in a later synchronisation. It waits for an event recorded
  /// after the sums (not for the whole stream), sleeping between looks rather than spinning a
  /// core; cudaEventSynchronize itself is not used because it cannot time out, and NCCL's
  /// asynchronous error state must be looked at while waiting.
  void finish_sums() override {
    using clock = std::chrono::steady_clock;
    check_cuda(cudaEventRecord(sums_done_, stream_), "cudaEventRecord");
    const auto deadline =
        clock::now() + std::chrono::duration_cast<clock::duration>(host_.options().timeout);
    std::chrono::microseconds pause(10);
    for (;;) {
      const cudaError_t state = cudaEventQuery(sums_done_);
      if (state == cudaSuccess) return;
      if (state != cudaErrorNotReady)
        stop(std::string("the CUDA stream failed: ") + cudaGetErrorString(state));
      ncclResult_t async = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      if (async != ncclSuccess && async != ncclInProgress)
        stop(std::string("NCCL reports: ") + ncclGetErrorString(async) +
             " (another rank has probably stopped)");
      if (clock::now() > deadline)
        stop("waited " + std::to_string(int(host_.options().timeout.count())) +
             " s for the other ranks' GPU sums: a rank has stopped (it died, or hangs)");
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }

  void sum_on_host(std::span<double> values) override { host_.sum_on_host(values); }
  std::vector<std::uint64_t> gather_on_host(std::span<const std::uint64_t> mine) override {
    return host_.gather_on_host(mine);
  }
  [[noreturn]] void abort(const std::string& message) override { stop(message); }

 private:
  template <class T>
  void start(T* data, std::size_t count, ncclDataType_t type) {
    check(ncclAllReduce(data, data, count, type, ncclSum, comm_, stream_), "ncclAllReduce");
  }
  void check_cuda(cudaError_t status, const char* what) {
    if (status != cudaSuccess) stop(std::string(what) + " failed: " + cudaGetErrorString(status));
  }
  void check(ncclResult_t status, const char* what) {
    if (status != ncclSuccess && status != ncclInProgress)
      stop(std::string(what) + " failed: " + ncclGetErrorString(status));
  }
  /// NCCL's kernels may wait forever for a dead peer: abort them first, then the job.
  [[noreturn]] void stop(const std::string& message) {
    if (comm_) {
      ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    host_.abort(message);
  }

  mpi_communicator& host_;
  cudaStream_t stream_;
  ncclComm_t comm_ = nullptr;
  cudaEvent_t sums_done_ = nullptr;
};

}  // namespace agd::distributed
