// A training step captured once in a CUDA Graph and replayed: every kernel, GEMM and copy of a
// step becomes one graph launch, which removes the launch cost of a few hundred small kernels
// per step. What a step reads that changes from step to step is in device memory (the batch's
// sample indices, the optimisers' step counters and bias corrections, G and eta), so a replay
// does the same work as an eager step.
#pragma once

#include "agd/backend/cuda/runtime.hpp"

namespace agd::cuda {

class step_graph {
 public:
  explicit step_graph(execution_context& context) : context_(&context) {}
  ~step_graph() {
#if AGD_CUDA_DEVICE
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
#endif
  }
  step_graph(const step_graph&) = delete;
  step_graph& operator=(const step_graph&) = delete;

  /// Runs `step`: the first call eagerly (a warm-up that sizes every scratch buffer, since a
  /// graph cannot allocate), the second captures it into a graph and launches that, and every
  /// later call launches the graph. On Thrust's host system each call runs the step.
  template <class Step>
  void run(Step&& step) {
#if AGD_CUDA_DEVICE
    if (exec_) {
      check(cudaGraphLaunch(exec_, context_->stream), "cudaGraphLaunch");
      return;
    }
    if (!warmed_up_) {
      step();
      warmed_up_ = true;
      return;
    }
    check(cudaStreamBeginCapture(context_->stream, cudaStreamCaptureModeThreadLocal),
          "cudaStreamBeginCapture");
    step();
    check(cudaStreamEndCapture(context_->stream, &graph_), "cudaStreamEndCapture");
    check(cudaGraphInstantiate(&exec_, graph_, 0), "cudaGraphInstantiate");
    check(cudaGraphLaunch(exec_, context_->stream), "cudaGraphLaunch");
#else
    step();
#endif
  }
  /// Whether later calls replay a captured graph.
  bool captured() const {
#if AGD_CUDA_DEVICE
    return exec_ != nullptr;
#else
    return false;
#endif
  }

 private:
  execution_context* context_;
#if AGD_CUDA_DEVICE
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  bool warmed_up_ = false;
#endif
};

}  // namespace agd::cuda
