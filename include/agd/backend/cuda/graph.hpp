// A training step captured once in a CUDA Graph and replayed: every kernel, GEMM and copy of a
// step becomes one graph launch, which removes the launch cost of a few hundred small kernels
// per step. What a step reads that changes from step to step is in device memory (the batch's
// sample indices, the optimisers' step counters and bias corrections, G and eta), so a replay
// does the same work as an eager step. What the step does on the host (the network's batch size,
// say) a replay does not do: the caller's on_replay does it instead.
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
  /// graph cannot allocate: a step that would grow one while captured throws cuda_error), the
  /// second captures it into a graph and launches that, and every later call launches the graph
  /// and then calls on_replay() for the host-side state the step would have set. On Thrust's
  /// host system the same three phases run the step itself each time (the capture with the
  /// same refusal to grow scratch), so that CI checks what a GPU would refuse.
  template <class Step, class OnReplay>
  void run(Step&& step, OnReplay&& on_replay) {
    if (replaying_) {
#if AGD_CUDA_DEVICE
      check(cudaGraphLaunch(exec_, context_->stream), "cudaGraphLaunch");
#else
      step();
#endif
      on_replay();
      return;
    }
    if (!warmed_up_) {
      step();
      warmed_up_ = true;
      return;
    }
    capture(step);
    replaying_ = true;
  }
  template <class Step>
  void run(Step&& step) {
    run(step, [] {});
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
  template <class Step>
  void capture(Step& step) {
    struct capture_flag {
      execution_context* context;
      explicit capture_flag(execution_context* c) : context(c) { context->capturing = true; }
      ~capture_flag() { context->capturing = false; }
    };
#if AGD_CUDA_DEVICE
    check(cudaStreamBeginCapture(context_->stream, cudaStreamCaptureModeThreadLocal),
          "cudaStreamBeginCapture");
    try {
      const capture_flag flag(context_);
      step();
    } catch (...) {
      // The stream leaves capture mode (and the partial graph is dropped) so that it stays
      // usable for eager work after the error.
      cudaGraph_t partial = nullptr;
      cudaStreamEndCapture(context_->stream, &partial);
      if (partial) cudaGraphDestroy(partial);
      throw;
    }
    check(cudaStreamEndCapture(context_->stream, &graph_), "cudaStreamEndCapture");
    check(cudaGraphInstantiate(&exec_, graph_, 0), "cudaGraphInstantiate");
    check(cudaGraphLaunch(exec_, context_->stream), "cudaGraphLaunch");
#else
    const capture_flag flag(context_);
    step();
#endif
  }

  execution_context* context_;
  bool warmed_up_ = false;
  bool replaying_ = false;
#if AGD_CUDA_DEVICE
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
#endif
};

}  // namespace agd::cuda
