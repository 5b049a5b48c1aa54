// The CPU backend's threads. One persistent pool runs every parallel region of a training step;
// dispatching a region allocates nothing (the task is passed by pointer) and wakes the workers by
// bumping one atomic, so a step can run several regions without the heap or a lock.
//
// Why our own pool rather than the BLAS's threads: OpenBLAS 0.3.21's threaded GEMM mallocs its
// job table on every call, and Eigen's parallel GEMM allocates its packing buffers on every
// product. Splitting the work ourselves (batch columns for the forward pass and the input
// gradients, weight rows for the weight gradients, elements for the update) and calling a
// single-threaded GEMM on each part keeps the step allocation-free, and lets a whole forward pass
// run as one region with no barrier between layers (each thread owns a block of samples).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agd/core/partition.hpp"

namespace agd {

class thread_pool {
 public:
  /// The most threads a pool runs (per-thread scratch elsewhere is sized by it).
  static constexpr unsigned max_threads = 64;

  explicit thread_pool(unsigned threads = 1) { resize(threads); }
  ~thread_pool() { stop_workers(); }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// Threads that run a region, the caller's included.
  unsigned size() const { return unsigned(workers_.size()) + 1; }

  /// Restarts the pool with `threads` threads (this allocates; call it outside a training loop).
  void resize(unsigned threads) {
    if (threads == 0 || threads > max_threads)
      throw std::invalid_argument("agd::thread_pool: thread count must be in [1, " +
                                  std::to_string(max_threads) + "], got " +
                                  std::to_string(threads));
    stop_workers();
    stopping_.store(false);
    workers_.reserve(threads - 1);
    // Workers start from the generation as it is now, so a region dispatched before a worker
    // thread gets scheduled is still seen by it.
    const int start = generation_.load(std::memory_order_acquire);
    for (unsigned t = 1; t < threads; ++t)
      workers_.emplace_back([this, t, start] { work(t, start); });
  }

  /// Runs task(thread_index, thread_count) on every thread of the pool, the caller as thread 0,
  /// and returns when all have finished. A region started from inside a region runs serially.
  template <class Task>
  void run(Task&& task) {
    const unsigned count = size();
    if (count == 1 || inside_region()) {
      task(0u, 1u);
      return;
    }
    using task_type = std::remove_reference_t<Task>;
    context_ = const_cast<void*>(static_cast<const void*>(&task));
    invoke_ = [](void* context, unsigned index, unsigned n) {
      (*static_cast<task_type*>(context))(index, n);
    };
    pending_.store(int(count) - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    inside_region() = true;
    task(0u, count);
    inside_region() = false;
    // Wait for the workers: spin briefly (regions are balanced), then sleep on the counter.
    for (int spin = 0; spin < spin_iterations; ++spin) {
      if (pending_.load(std::memory_order_acquire) == 0) return;
      _mm_pause();
    }
    for (int left; (left = pending_.load(std::memory_order_acquire)) != 0;)
      pending_.wait(left, std::memory_order_acquire);
  }

 private:
  // ~50-100 us of pause instructions: long enough to bridge the gaps between the regions of one
  // step, short enough that idle workers soon stop burning a core.
  static constexpr int spin_iterations = 4000;

  static bool& inside_region() {
    thread_local bool inside = false;
    return inside;
  }

  void work(unsigned index, int seen) {
    inside_region() = true;
    for (;;) {
      int current = seen;
      for (int spin = 0; spin < spin_iterations; ++spin) {
        current = generation_.load(std::memory_order_acquire);
        if (current != seen) break;
        _mm_pause();
      }
      if (current == seen) {
        generation_.wait(seen, std::memory_order_acquire);
        continue;
      }
      seen = current;
      if (stopping_.load(std::memory_order_acquire)) return;
      invoke_(context_, index, size());
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  void stop_workers() {
    if (workers_.empty()) return;
    stopping_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  void* context_ = nullptr;
  void (*invoke_)(void*, unsigned, unsigned) = nullptr;
  alignas(64) std::atomic<int> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace agd
