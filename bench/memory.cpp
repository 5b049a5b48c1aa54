// bench_memory: the memory an optimiser adds to a training run, from the types (state_bytes(),
// constexpr for AGD and Adam) and measured as the growth of this process's resident set when
// the optimiser is constructed (heap bytes held, from mallinfo2, and resident set growth), for AGD,
// Adam and SGD with momentum 0.9; and the network's own buffers (weights, gradients, activations
// and their gradients at batch 128).
//
//   build-bench/bench/bench_memory
//
// One line per network and optimiser: `memory net=.. params=.. optimizer=.. state_bytes=..
// heap_bytes=.. rss_bytes=..`, and one per network: `buffers net=.. weights_bytes=.. ...`.
#include <agd/agd.hpp>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

/// The resident set size of this process now, from /proc/self/statm.
long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

/// Heap bytes in use (small blocks plus mmap'ed ones), from glibc's allocator.
long heap_bytes() {
  const struct mallinfo2 info = mallinfo2();
  return long(info.uordblks + info.hblkhd);
}

/// In a child process (so that what earlier measurements freed cannot be reused): builds the
/// network, then the optimiser, and prints what the optimiser holds on the heap and how much the
/// resident set grew. AGD's constructor also runs the orthogonal initialisation, whose QR
/// temporaries are freed before the measurement but may stay resident in the allocator's pool.
template <class Optimizer, class Net, class Options>
void report(const char* net_name, const char* optimizer_name, Options options) {
  std::fflush(stdout);
  const pid_t child = fork();
  if (child < 0) {
    std::perror("bench_memory: fork");
    std::exit(1);
  }
  if (child == 0) {
    Net net(128);
    const long heap_before = heap_bytes(), rss_before = resident_bytes();
    Optimizer optimizer(net, options);
    const long heap_after = heap_bytes(), rss_after = resident_bytes();
    std::printf(
        "memory net=%s params=%zu optimizer=%s state_bytes=%zu heap_bytes=%ld rss_bytes=%ld\n",
        net_name, Net::parameter_count, optimizer_name, optimizer.state_bytes(),
        heap_after - heap_before, rss_after - rss_before);
    std::fflush(stdout);
    std::_Exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench_memory: the measurement of %s / %s failed\n", net_name,
                 optimizer_name);
    std::exit(1);
  }
}

template <class Net>
void measure(const char* name) {
  constexpr std::size_t batch = 128;
  std::size_t activation_elements = 0;
  for (std::size_t size : Net::activation_sizes) activation_elements += size;
  const std::size_t scalar = sizeof(typename Net::scalar_type);
  std::printf(
      "buffers net=%s params=%zu weights_bytes=%zu gradients_bytes=%zu "
      "activations_bytes_batch128=%zu\n",
      name, Net::parameter_count, Net::parameter_count * scalar, Net::parameter_count * scalar,
      2 * activation_elements * batch * scalar);
  report<agd::AGD<Net>, Net>(name, "agd", agd::agd_options{});
  report<agd::Adam<Net>, Net>(name, "adam", agd::adam_options{});
  report<agd::SGD<Net>, Net>(name, "sgd_momentum", agd::sgd_options{.momentum = 0.9});
  report<agd::SGD<Net>, Net>(name, "sgd", agd::sgd_options{});
}

}  // namespace

// The state sizes follow from the types alone: AGD keeps nothing per weight, Adam two moments.
using Main = agd::FCN<784, 512, 10, 4>;
static_assert(agd::AGD<Main>::state_bytes() == 0);
static_assert(agd::Adam<Main>::state_bytes() == 2 * Main::parameter_count * sizeof(float));

int main() {
  agd::set_threads(1);
  measure<Main>("depth4_width512");
  measure<agd::FCN<784, 256, 10, 8>>("depth8_width256");
  measure<agd::FCN<784, 256, 10, 32>>("depth32_width256");
  measure<agd::FCN<784, 2048, 10, 4>>("depth4_width2048");
  return 0;
}
