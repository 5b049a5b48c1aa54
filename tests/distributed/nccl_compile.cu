// Compiled by nvcc (ctest distributed.nccl_compiles; no GPU needed, nothing runs): the NCCL
// communicator, through the interface agd::train::fit uses. That fit and data_parallel compile
// for CUDA networks is tests/cuda/network.cu's check (cuda.nvcc_compiles_network).
#include <agd/distributed/nccl.hpp>

#include <vector>

// A host entry point that uses every member of the communicator.
double agd_nccl_compile_check(agd::distributed::mpi_communicator& host, cudaStream_t stream,
                              float* gradients, std::size_t count, double* figures) {
  agd::distributed::nccl_communicator gpus(host, stream);
  agd::distributed::communicator& comm = gpus;
  if (comm.memory() != agd::distributed::memory_space::cuda_device) comm.abort("wrong memory");
  comm.start_sum(gradients, count);
  comm.start_sum(figures, 3);
  comm.progress();
  comm.finish_sums();
  std::vector<double> values{1.0, 2.0};
  comm.sum_on_host(values);
  const std::vector<std::uint64_t> mine{comm.rank()};
  const auto all = comm.gather_on_host(mine);
  return values[0] + double(all.size()) + double(comm.size()) + double(comm.name().size());
}
