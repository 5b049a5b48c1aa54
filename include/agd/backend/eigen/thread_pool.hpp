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
//
// Several application threads may use agd at once (an inference server, two trainings): the
// pool runs one region at a time, and a region dispatched while another runs waits for it (a
// mutex around the dispatch). Each region still has every thread of the pool, so results do not
// depend on what other threads do.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
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

  /// Which thread of the pool the calling thread is: 1 .. size()-1 for the workers, 0 for any
  /// other thread (the callers of run()). Per-thread state of a backend (oneDNN's streams and
  /// scratchpads) is indexed by it.
  static unsigned current_thread() { return thread_index(); }

  /// Restarts the pool with `threads` threads (this allocates; call it outside a training loop).
  /// Waits for a region that another thread is running.
  void resize(unsigned threads) {
    if (threads == 0 || threads > max_threads)
      throw std::invalid_argument("agd::thread_pool: thread count must be in [1, " +
                                  std::to_string(max_threads) + "], got " +
                                  std::to_string(threads));
    if (inside_region())
      throw std::logic_error("agd::thread_pool: the thread count cannot change inside a region");
    const std::lock_guard<std::mutex> lock(dispatch_);
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
  /// and returns when all have finished. A region started from inside a region runs serially;
  /// one started while another thread's region runs waits for it.
  template <class Task>
  void run(Task&& task) {
    if (inside_region()) {
      task(0u, 1u);
      return;
    }
    const std::lock_guard<std::mutex> lock(dispatch_);
    const unsigned count = size();
    if (count == 1) {
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
    try {
      task(0u, count);
    } catch (...) {
      record_failure();
    }
    inside_region() = false;
    // Wait for the workers: spin briefly (regions are balanced), then sleep on the counter. Even
    // when the caller's part threw: the workers still read the task.
    bool done = false;
    for (int spin = 0; spin < spin_iterations && !done; ++spin) {
      done = pending_.load(std::memory_order_acquire) == 0;
      if (!done) _mm_pause();
    }
    for (int left; !done && (left = pending_.load(std::memory_order_acquire)) != 0;)
      pending_.wait(left, std::memory_order_acquire);
    // An exception of any thread's part is the region's: the first one is rethrown here.
    if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  }

 private:
  // ~50-100 us of pause instructions: long enough to bridge the gaps between the regions of one
  // step, short enough that idle workers soon stop burning a core.
  static constexpr int spin_iterations = 4000;

  static bool& inside_region() {
    thread_local bool inside = false;
    return inside;
  }
  static unsigned& thread_index() {
    thread_local unsigned index = 0;
    return index;
  }

  void work(unsigned index, int seen) {
    inside_region() = true;
    thread_index() = index;
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
      try {
        invoke_(context_, index, size());
      } catch (...) {
        record_failure();
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  void record_failure() {
    const std::lock_guard<std::mutex> lock(failure_mutex_);
    if (!failure_) failure_ = std::current_exception();
  }

  void stop_workers() {
    if (workers_.empty()) return;
    stopping_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  std::mutex dispatch_;  // held while a region runs: one region at a time
  std::mutex failure_mutex_;
  std::exception_ptr failure_;  // the first exception a part of the running region threw
  std::vector<std::thread> workers_;
  void* context_ = nullptr;
  void (*invoke_)(void*, unsigned, unsigned) = nullptr;
  alignas(64) std::atomic<int> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace agd
