// After the first step, a training step (batch gather, forward, loss, backward, optimiser) makes
// no heap allocation at all. This program replaces malloc and its relatives (which catches Eigen,
// OpenBLAS and everything else) and the global operator new, and counts calls while armed.
//
// Built twice: for the CPU backend (test_allocations), and with AGD_ALLOCATIONS_ON_CUDA for the
// CUDA backend on Thrust's host system (test_allocations_cuda_host), where the same steps,
// train::fit's way (batches gathered by the batch loader, results left where the step ran),
// must not allocate either.
//
// On the oneDNN engine (backend/eigen/onednn.hpp), oneDNN 2.6 itself allocates a few small
// nodes for its argument map in every primitive run; those are counted apart (the thread is
// inside a oneDNN call) and reported, and must stay small and few: no buffer of a step (a
// scratchpad, a weight copy, a workspace) may come from the heap.
#ifdef AGD_ALLOCATIONS_ON_CUDA
#include <agd/cuda.hpp>
#else
#include <agd/agd.hpp>
#endif
#include <agd/train/fit.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> armed{false};
std::atomic<long> mallocs{0}, news{0};
// Allocations made by oneDNN inside a primitive run, and the largest of them.
std::atomic<long> library_allocations{0}, largest_library_allocation{0};

bool inside_library() {
#ifdef AGD_WITH_ONEDNN
  return agd::onednn::inside_library_call();
#else
  return false;
#endif
}
/// Counts an allocation while armed: oneDNN's own apart from everything else.
bool count(std::size_t size) {
  if (!armed.load(std::memory_order_relaxed)) return false;
  if (!inside_library()) return true;
  library_allocations.fetch_add(1, std::memory_order_relaxed);
  long largest = largest_library_allocation.load(std::memory_order_relaxed);
  while (long(size) > largest &&
         !largest_library_allocation.compare_exchange_weak(largest, long(size))) {
  }
  return false;
}
void count_malloc(std::size_t size) {
  if (count(size)) mallocs.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t size) {
  count_malloc(size);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  count_malloc(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  count_malloc(size);
  return __libc_realloc(pointer, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  count_malloc(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count_malloc(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count_malloc(size);
  *out = __libc_memalign(alignment, size);
  return *out ? 0 : 12;
}
void free(void* pointer) {
  __libc_free(pointer);
}
}

void* operator new(std::size_t size) {
  if (count(size)) news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = __libc_malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* p) noexcept {
  __libc_free(p);
}
void operator delete[](void* p) noexcept {
  __libc_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  __libc_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  __libc_free(p);
}

namespace {

using Net =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;

/// A CNN with every new layer kind: convolutions (per-thread im2row scratch), pooling, an
/// identity and a projection skip, Flatten.
using Cnn = agd::Sequential<
    agd::Input<1, 28, 28>, agd::Conv2d<1, 8, 3>, agd::Sqrt2Relu, agd::MaxPool2d<2>,
    agd::Residual<agd::Sqrt2Relu, agd::Conv2d<8, 8, 3>, agd::Sqrt2Relu, agd::Conv2d<8, 8, 3>>,
    agd::Residual<agd::Sqrt2Relu, agd::Conv2d<8, 16, 3, 2>, agd::Sqrt2Relu, agd::Conv2d<16, 16, 3>>,
    agd::AvgPool2d<7>, agd::Flatten, agd::Dense<16, 10>>;

#ifdef AGD_ALLOCATIONS_ON_CUDA
template <class N>
using on_backend = typename N::template on<agd::cuda::device>;
#else
template <class N>
using on_backend = N;
#endif

struct allocation_counts {
  long mallocs = 0, news = 0;
};

/// The allocations of 5 steps after a warm-up step.
template <class Step>
allocation_counts allocations_of(Step&& step) {
  step();  // warm-up: thread pools and BLAS buffers come up on the first call
  mallocs = 0;
  news = 0;
  library_allocations = 0;
  largest_library_allocation = 0;
  armed = true;
  for (int i = 0; i < 5; ++i) step();
  armed = false;
  return {mallocs.load(), news.load()};
}

/// Counts the allocations of 5 steps after a warm-up step; 1 if there were any.
template <class Step>
int count_allocations(const char* what, Step&& step) {
  const allocation_counts counts = allocations_of(step);
  std::printf("%-44s %ld malloc-family calls, %ld operator new calls in 5 steps", what,
              counts.mallocs, counts.news);
  if (library_allocations > 0)
    std::printf(" (oneDNN's own: %ld, the largest %ld bytes)", library_allocations.load(),
                largest_library_allocation.load());
  std::printf("\n");
  // oneDNN's argument maps are nodes of under a hundred bytes; a buffer (a scratchpad, a
  // workspace, a weight copy) would be kilobytes.
  const bool library_small = largest_library_allocation <= 1024;
  if (!library_small) std::printf("  oneDNN allocated a buffer during a step\n");
  return counts.mallocs + counts.news == 0 && library_small ? 0 : 1;
}

// Where the positive control's allocations go: globals the compiler must keep, so that it can
// neither elide the allocations nor move them out of the counted region.
std::vector<float> kept_vector;
void* volatile kept_block = nullptr;

/// The positive control: a step that allocates through operator new (a std::vector) and malloc,
/// which the counter must see, or the zero counts below would prove nothing (a counter that was
/// never linked in, or never armed, also reports zero). 1 if it missed them.
int check_counter_sees_allocations() {
  const allocation_counts counts = allocations_of([] {
    kept_vector = std::vector<float>(1000, 1.0f);
    kept_block = std::malloc(256);
    std::free(kept_block);
  });
  std::printf("%-44s %ld malloc-family calls, %ld operator new calls in 5 steps\n",
              "positive control (a vector and a malloc):", counts.mallocs, counts.news);
  if (counts.mallocs >= 5 && counts.news >= 5) return 0;
  std::printf(
      "FAILED: the counter missed allocations made while armed (expected at least 5 of "
      "each); the zero counts below would mean nothing\n");
  return 1;
}

template <class Loss, class Opt, class Network>
int check(const char* what, Network& net, Opt& optimizer, const agd::data::dataset& data) {
  agd::data::batch_sampler sampler(data.size(), net.batch_capacity(), 1);
  std::span<const std::size_t> indices;
  sampler.start_epoch();
  int failures = 0;
  if constexpr (Network::backend_type::host_memory) {
    // A loop of one's own on the CPU: gather into the input buffer, train_step with host labels.
    std::vector<std::int32_t> labels(net.batch_capacity());
    failures += count_allocations(what, [&] {
      sampler.next(indices);
      agd::data::gather_batch(data, indices, net.input_buffer(), std::span<std::int32_t>(labels));
      agd::train::train_step<Loss>(net, optimizer, std::span<const std::int32_t>(labels));
    });
  }
  // train::fit's step: the loader gathers the batch where the network runs, and the loss, eta
  // and accuracy stay there.
  agd::train::batch_loader<Network> loader(net, data);
  sampler.start_epoch(0);
  loader.begin_epoch(sampler.epoch_order());
  failures += count_allocations((std::string(what) + " (fit's step)").c_str(), [&] {
    sampler.next(indices);
    loader.gather(indices);
    agd::train::train_step<Loss>(net, optimizer, indices.size());
    agd::batch_correct(net, net.label_buffer());
  });
  return failures;
}

}  // namespace

int main() {
  agd::set_threads(2);
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Random(784, 1024);
  data.labels.resize(1024);
  for (std::size_t j = 0; j < data.labels.size(); ++j) data.labels[j] = std::int32_t(j % 10);

  int failures = check_counter_sees_allocations();
  on_backend<Net> net(128);
  {
    agd::AGD optimizer(net);
    failures += check<agd::MSELoss>("AGD + MSELoss:", net, optimizer, data);
    failures += check<agd::CrossEntropyLoss>("AGD + CrossEntropyLoss:", net, optimizer, data);
  }
  {
    agd::Adam optimizer(net);
    failures += check<agd::SquareLoss>("Adam + SquareLoss:", net, optimizer, data);
  }
  {
    agd::SGD optimizer(net, {.lr = 0.1, .momentum = 0.9});
    failures += check<agd::MSELoss>("SGD(momentum) + MSELoss:", net, optimizer, data);
  }
  {
    on_backend<Cnn> cnn(32);
    agd::AGD optimizer(cnn);
    failures += check<agd::MSELoss>("CNN with skips, AGD:", cnn, optimizer, data);
  }
  // Mixed precision: bf16 copies of the operands live in per-thread staging grown at warm-up.
  try {
    typename on_backend<Net>::template with_precision<agd::bf16> mixed(128);
    agd::AGD optimizer(mixed);
    failures += check<agd::MSELoss>("bf16, AGD + MSELoss:", mixed, optimizer, data);
    typename on_backend<Cnn>::template with_precision<agd::bf16> mixed_cnn(32);
    agd::AGD cnn_optimizer(mixed_cnn);
    failures += check<agd::MSELoss>("bf16 CNN with skips, AGD:", mixed_cnn, cnn_optimizer, data);
  } catch (const std::runtime_error& refusal) {
    std::printf("bf16: not checked here (%s)\n", refusal.what());
  }
#ifdef AGD_ALLOCATIONS_ON_CUDA
  std::printf("CUDA backend on Thrust's host system: ");
#endif
  std::printf("%s\n", failures == 0 ? "zero allocations per step: OK" : "FAILED: steps allocate");
  return failures == 0 ? 0 : 1;
}
