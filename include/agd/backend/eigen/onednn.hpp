// The CPU backend's compute engine on oneDNN (Debian's libdnnl-dev, 2.6): the library whose JIT
// kernels PyTorch's own CPU convolutions run. Built with AGD_WITH_ONEDNN (CMake defines it where
// oneDNN is found; -DAGD_CPU_ENGINE=eigen turns it off), the float GEMMs of the CPU backend are
// oneDNN matmul primitives and the float convolutions oneDNN convolutions (backend/eigen/
// conv2d.hpp); double precision, and builds without oneDNN, keep Eigen's kernels.
//
// How it fits the CPU backend, and why:
// - Threads. agd's pool (thread_pool.hpp) splits every region itself (samples for the passes,
//   rows or samples for the weight gradients), and each part calls oneDNN single-threaded.
//   Debian's oneDNN runs on OpenMP, whose idle threads spin: letting it start threads of its own
//   beside the pool's would have two runtimes fight for the cores. Measured on the 2-core EPYC,
//   one single-threaded primitive per pool thread on half the batch ran the convolutions and
//   GEMMs of our networks 5-20% faster than one primitive on OpenMP's 2 threads (docs/cpu-gemm.md).
//   single_threaded_openmp below holds OpenMP to one thread for the calling thread only, for the
//   duration of a call, so an application's own OpenMP settings are left as they were.
// - Primitives are made once per shape and kept in the network's context (resources, below):
//   the shapes are the network type's, the only run-time size is a thread's number of samples
//   (one or two values in training, one more for a last, smaller batch). Making one allocates
//   and JIT-compiles code (0.1-10 ms); running one allocates no buffer of ours: every
//   primitive's scratchpad is user-managed, one per pool thread, grown when a larger primitive
//   is made. (oneDNN 2.6 itself allocates a few small nodes, <= 104 bytes, for its argument map
//   on every execution; tests/test_allocations.cpp counts them apart from everything else.)
// - The C API only (dnnl.h): the C++ header costs every translation unit 0.6 s of parsing.
#pragma once

#ifdef AGD_WITH_ONEDNN

#if defined(__x86_64__) && !defined(__CUDACC__)
#include <immintrin.h>
#define AGD_ROUND_WITH_AVX512_BF16 1
#endif
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agd/backend/eigen/thread_pool.hpp"
#include "agd/backend/eigen/threads.hpp"
#include "agd/core/precision.hpp"
#include "agd/core/view.hpp"

namespace agd::onednn {

/// A oneDNN call that failed: names the call and oneDNN's status. Only making a primitive can
/// fail in practice (an unsupported shape); a run of a made primitive does not.
[[noreturn]] inline void fail(dnnl_status_t status, const char* what) {
  const char* meaning = status == dnnl_out_of_memory       ? "out of memory"
                        : status == dnnl_invalid_arguments ? "invalid arguments"
                        : status == dnnl_unimplemented     ? "no implementation for these shapes"
                                                           : "error";
  throw std::runtime_error(std::string("agd (oneDNN engine): ") + what + " failed: " + meaning +
                           " (dnnl status " + std::to_string(int(status)) +
                           "). Rebuild with -DAGD_CPU_ENGINE=eigen to run on Eigen's kernels, "
                           "and report the network type.");
}
inline void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) fail(status, what);
}

/// Unique ownership of a oneDNN C handle.
template <class Handle, dnnl_status_t (*Destroy)(Handle)>
class owned {
 public:
  owned() = default;
  owned(const owned&) = delete;
  owned& operator=(const owned&) = delete;
  owned(owned&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  owned& operator=(owned&& other) noexcept {
    if (this != &other) reset(std::exchange(other.handle_, nullptr));
    return *this;
  }
  ~owned() { reset(); }
  void reset(Handle handle = nullptr) {
    if (handle_) Destroy(handle_);
    handle_ = handle;
  }
  Handle get() const { return handle_; }
  /// For a create call to write the new handle into.
  Handle* out() {
    reset();
    return &handle_;
  }
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  Handle handle_ = nullptr;
};
using engine_handle = owned<dnnl_engine_t, dnnl_engine_destroy>;
using stream_handle = owned<dnnl_stream_t, dnnl_stream_destroy>;
using memory_handle = owned<dnnl_memory_t, dnnl_memory_destroy>;
using primitive_handle = owned<dnnl_primitive_t, dnnl_primitive_destroy>;
using primitive_desc_handle = owned<dnnl_primitive_desc_t, dnnl_primitive_desc_destroy>;
using attr_handle = owned<dnnl_primitive_attr_t, dnnl_primitive_attr_destroy>;
using post_ops_handle = owned<dnnl_post_ops_t, dnnl_post_ops_destroy>;

/// Holds OpenMP, and so oneDNN, to one thread on the calling thread while it lives (see the top
/// of this file), then restores the thread's setting.
class single_threaded_openmp {
 public:
  single_threaded_openmp() : saved_(omp_get_max_threads()) {
    if (saved_ != 1) omp_set_num_threads(1);
  }
  ~single_threaded_openmp() {
    if (saved_ != 1) omp_set_num_threads(saved_);
  }
  single_threaded_openmp(const single_threaded_openmp&) = delete;
  single_threaded_openmp& operator=(const single_threaded_openmp&) = delete;

 private:
  int saved_;
};

namespace detail {
inline int& library_calls_on_this_thread() {
  thread_local int calls = 0;
  return calls;
}
}  // namespace detail

/// True on a thread while it runs a oneDNN primitive for agd: oneDNN 2.6 allocates small nodes
/// for its argument map in every run, and tests/test_allocations.cpp counts those apart from
/// allocations of agd's own.
inline bool inside_library_call() {
  return detail::library_calls_on_this_thread() > 0;
}

// Memory descriptors.

/// The oneDNN data type of values that a primitive multiplies in this precision.
inline dnnl_data_type_t input_type(compute_precision precision) {
  return precision == compute_precision::bf16 ? dnnl_bf16 : dnnl_f32;
}

/// A tensor (f32 unless `type` says otherwise) of the given dimensions and strides (in elements).
inline dnnl_memory_desc_t strided_desc(std::initializer_list<dnnl_dim_t> dims,
                                       std::initializer_list<dnnl_dim_t> strides,
                                       dnnl_data_type_t type = dnnl_f32) {
  dnnl_memory_desc_t desc;
  dnnl_dims_t d{}, s{};
  std::copy(dims.begin(), dims.end(), d);
  std::copy(strides.begin(), strides.end(), s);
  check(dnnl_memory_desc_init_by_strides(&desc, int(dims.size()), d, type, s),
        "dnnl_memory_desc_init_by_strides");
  return desc;
}
/// A tensor in a named format (dnnl_format_tag_any: the primitive chooses).
inline dnnl_memory_desc_t tagged_desc(std::initializer_list<dnnl_dim_t> dims, dnnl_format_tag_t tag,
                                      dnnl_data_type_t type = dnnl_f32) {
  dnnl_memory_desc_t desc;
  dnnl_dims_t d{};
  std::copy(dims.begin(), dims.end(), d);
  check(dnnl_memory_desc_init_by_tag(&desc, int(dims.size()), d, type, tag),
        "dnnl_memory_desc_init_by_tag");
  return desc;
}
/// A batch of n images, C x H x W each, in agd's column layout (core/view.hpp): CHW per sample
/// (oneDNN's nchw) or channel groups of `block` innermost (nChw8c, nChw16c).
inline dnnl_memory_desc_t image_desc(std::size_t n, std::size_t channels, std::size_t height,
                                     std::size_t width, unsigned block,
                                     dnnl_data_type_t type = dnnl_f32) {
  const dnnl_format_tag_t tag = block == 16 ? dnnl_nChw16c : block == 8 ? dnnl_nChw8c : dnnl_nchw;
  return tagged_desc({dnnl_dim_t(n), dnnl_dim_t(channels), dnnl_dim_t(height), dnnl_dim_t(width)},
                     tag, type);
}
inline std::size_t size_of(const dnnl_memory_desc_t& desc) {
  return dnnl_memory_desc_get_size(&desc);
}
inline bool same(const dnnl_memory_desc_t& a, const dnnl_memory_desc_t& b) {
  return dnnl_memory_desc_equal(&a, &b) != 0;
}
/// The descriptor a primitive descriptor chose for an argument.
inline dnnl_memory_desc_t queried_desc(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
  const dnnl_memory_desc_t* desc = dnnl_primitive_desc_query_md(pd, what, 0);
  if (!desc) throw std::logic_error("agd (oneDNN engine): a primitive has no such argument");
  return *desc;
}

// Rounding to bfloat16.

namespace detail {
#ifdef AGD_ROUND_WITH_AVX512_BF16
/// 16 floats per VCVTNEPS2BF16, which rounds as to_bf16 does (to nearest, ties to even, NaN
/// kept) except that it flushes denormal inputs to zero, as oneDNN's own conversions do here.
/// Compiled for AVX512-BF16 whatever the build's -march: called only where the CPU has it.
__attribute__((target("avx512f,avx512bf16"))) inline void round_with_avx512_bf16(const float* from,
                                                                                 std::size_t n,
                                                                                 agd::bf16* to) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(from + i))));
  for (; i < n; ++i) to[i] = to_bf16(from[i]);
}
#endif
}  // namespace detail

/// Rounds n floats to bfloat16 for a bf16 primitive: with the CPU's conversion instruction where
/// it has one (every CPU that runs a bf16 network has: AVX512-BF16), about 2x faster than the
/// portable loop of core/precision.hpp, which runs elsewhere.
inline void round_into_bf16(const float* from, std::size_t n, agd::bf16* to) {
#ifdef AGD_ROUND_WITH_AVX512_BF16
  static const bool hardware = __builtin_cpu_supports("avx512bf16");
  if (hardware) return detail::round_with_avx512_bf16(from, n, to);
#endif
  convert_to_bf16(from, n, to);
}

// The engine.

/// The process's CPU engine, and what its fp32 convolutions run fastest on here.
struct engine_facts {
  engine_handle engine;
  /// The channel group of the activation layout oneDNN's fp32 convolutions choose on this CPU:
  /// 16 (AVX-512), 8 (AVX2), or 1 where they choose CHW itself (older CPUs): the layout the
  /// network keeps between its image layers (core/view.hpp).
  unsigned channel_block = 1;
  /// oneDNN's name for the instruction set it dispatches to ("avx512_core", "avx2", ...).
  std::string isa;
  /// Whether oneDNN's float matmul runs its "brgemm" kernels here (AVX-512). Elsewhere (AVX2)
  /// it runs its older GEMM, whose packing costs made the main FCN's step 1.2x slower than
  /// Eigen's GEMM compiled for AVX2 on the same CPU (docs/cpu-gemm.md): gemm() then declines
  /// and the caller runs Eigen's; the convolutions stay on oneDNN.
  bool brgemm_matmul = false;
  /// Whether oneDNN multiplies bfloat16 in hardware here: AVX512-BF16 (Zen 4, Cooper Lake) or
  /// AMX (Sapphire Rapids). Elsewhere its bf16 kernels emulate the instructions (AVX-512 without
  /// BF16) or there are none (AVX2), and a bf16 network refuses to be made (bf16_refusal()).
  bool bf16 = false;
};

namespace detail {
inline const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "baseline x86-64";
  }
}

/// Asks oneDNN which source layout it takes for a 16 -> 16 channel 3x3 convolution: the channel
/// group of that layout is the one every image layer of a network will share.
inline unsigned preferred_channel_block(dnnl_engine_t engine) {
  const single_threaded_openmp one_thread;
  const dnnl_memory_desc_t src = tagged_desc({2, 16, 8, 8}, dnnl_format_tag_any);
  const dnnl_memory_desc_t weights = tagged_desc({16, 16, 3, 3}, dnnl_format_tag_any);
  const dnnl_memory_desc_t dst = tagged_desc({2, 16, 8, 8}, dnnl_format_tag_any);
  const dnnl_dims_t strides{1, 1}, padding{1, 1};
  dnnl_convolution_desc_t desc;
  check(
      dnnl_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct,
                                         &src, &weights, nullptr, &dst, strides, padding, padding),
      "dnnl_convolution_forward_desc_init");
  primitive_desc_handle pd;
  if (dnnl_primitive_desc_create(pd.out(), &desc, nullptr, engine, nullptr) != dnnl_success)
    return 1;
  const dnnl_memory_desc_t chosen = queried_desc(pd.get(), dnnl_query_src_md);
  if (chosen.format_kind != dnnl_blocked) return 1;
  const auto& blocking = chosen.format_desc.blocking;
  if (blocking.inner_nblks != 1 || blocking.inner_idxs[0] != 1) return 1;
  const dnnl_dim_t block = blocking.inner_blks[0];
  return block == 8 || block == 16 ? unsigned(block) : 1;
}

/// Whether a float matmul of the main FCN's size is oneDNN's brgemm implementation here.
inline bool matmul_is_brgemm(dnnl_engine_t engine) {
  const single_threaded_openmp one_thread;
  const dnnl_memory_desc_t a = tagged_desc({128, 512}, dnnl_ab);
  const dnnl_memory_desc_t b = tagged_desc({512, 512}, dnnl_ab);
  const dnnl_memory_desc_t c = tagged_desc({128, 512}, dnnl_ab);
  dnnl_matmul_desc_t desc;
  check(dnnl_matmul_desc_init(&desc, &a, &b, nullptr, &c), "dnnl_matmul_desc_init");
  primitive_desc_handle pd;
  if (dnnl_primitive_desc_create(pd.out(), &desc, nullptr, engine, nullptr) != dnnl_success)
    return false;
  const char* implementation = nullptr;
  if (dnnl_primitive_desc_query(pd.get(), dnnl_query_impl_info_str, 0, &implementation) !=
          dnnl_success ||
      implementation == nullptr)
    return false;
  return std::strncmp(implementation, "brg", 3) == 0;
}
}  // namespace detail

inline const engine_facts& cpu_engine() {
  static const engine_facts facts = [] {
    engine_facts made;
    check(dnnl_engine_create(made.engine.out(), dnnl_cpu, 0), "dnnl_engine_create");
    made.isa = detail::isa_name(dnnl_get_effective_cpu_isa());
    made.channel_block = detail::preferred_channel_block(made.engine.get());
    made.brgemm_matmul = detail::matmul_is_brgemm(made.engine.get());
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    made.bf16 = isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
    return made;
  }();
  return facts;
}

/// Why this CPU cannot train in bfloat16, in one sentence (empty where it can).
inline std::string bf16_refusal() {
  const engine_facts& facts = cpu_engine();
  if (facts.bf16) return {};
  return "agd: Net::with_precision<agd::bf16> needs a CPU with AMX-BF16 or AVX512-BF16 "
         "instructions to multiply bfloat16 in hardware, and this one has neither (oneDNN "
         "dispatches to " +
         facts.isa + " here" +
         (std::getenv("DNNL_MAX_CPU_ISA") ? std::string(", held there by DNNL_MAX_CPU_ISA") : "") +
         "), so train this network in fp32: drop with_precision (or pass --precision fp32).";
}

// Primitives, made once per shape.

/// What identifies a primitive in a network's cache: its kind and up to 14 integers (shapes,
/// strides, layouts, the bits of scalar parameters).
struct primitive_key {
  std::uint32_t kind = 0;
  std::array<std::int64_t, 14> values{};
  bool operator==(const primitive_key&) const = default;
};
struct primitive_key_hash {
  std::size_t operator()(const primitive_key& key) const {
    std::uint64_t h = 0xcbf29ce484222325ull ^ key.kind;
    for (std::int64_t v : key.values) h = (h ^ std::uint64_t(v)) * 0x100000001b3ull;
    return std::size_t(h);
  }
};
enum primitive_kind : std::uint32_t {
  matmul = 1,
  convolution_forward,
  convolution_backward_data,
  convolution_backward_weights,
  reorder,
};

/// A made primitive and the descriptors of its arguments, in the order run() takes pointers.
struct primitive {
  /// Arrays rather than vectors: nvcc 13's front end crashes on std::vector<dnnl_memory_desc_t>
  /// (an internal error in find_allocated_name_reference), and the CUDA build compiles this too.
  static constexpr std::size_t max_arguments = 3;
  primitive_handle handle;
  std::array<int, max_arguments> arguments{};  // DNNL_ARG_* of each pointer given to run()
  std::array<dnnl_memory_desc_t, max_arguments> descs{};
  std::size_t argument_count = 0;
  dnnl_memory_desc_t scratchpad{};
  std::size_t scratchpad_bytes = 0;
  /// Whether oneDNN found only its reference implementation ("ref:any"), 20-100x slower than a
  /// JIT kernel: e.g. the weight gradient of a convolution from a CHW image to a blocked one
  /// with AVX2 (a first convolution's). The kernels that use the primitive run their own code
  /// instead.
  bool reference = false;
  /// Per pool thread: one memory object per argument (and the scratchpad), made at the thread's
  /// first run, whose data pointers each run sets.
  std::array<std::unique_ptr<memory_handle[]>, thread_pool::max_threads> memories;
};

/// Makes the primitive of a primitive descriptor, with these arguments' descriptors queried
/// from it.
inline std::unique_ptr<primitive> make_primitive(
    const_dnnl_primitive_desc_t pd, std::initializer_list<std::pair<int, dnnl_query_t>> args) {
  auto made = std::make_unique<primitive>();
  check(dnnl_primitive_create(made->handle.out(), pd), "dnnl_primitive_create");
  for (const auto& [argument, query] : args) {
    made->arguments.at(made->argument_count) = argument;
    made->descs.at(made->argument_count++) = queried_desc(pd, query);
  }
  made->scratchpad = queried_desc(pd, dnnl_query_scratchpad_md);
  made->scratchpad_bytes = size_of(made->scratchpad);
  const char* implementation = nullptr;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation) == dnnl_success &&
      implementation != nullptr)
    made->reference = std::strncmp(implementation, "ref", 3) == 0;
  return made;
}

/// An attribute with the scratchpad in the caller's hands (so that a run allocates none).
inline attr_handle user_scratchpad_attr() {
  attr_handle attr;
  check(dnnl_primitive_attr_create(attr.out()), "dnnl_primitive_attr_create");
  check(dnnl_primitive_attr_set_scratchpad_mode(attr.get(), dnnl_scratchpad_mode_user),
        "dnnl_primitive_attr_set_scratchpad_mode");
  return attr;
}

/// Creates a primitive descriptor from an operation descriptor, or fails naming it.
inline primitive_desc_handle make_primitive_desc(const void* op_desc,
                                                 const_dnnl_primitive_attr_t attr,
                                                 const_dnnl_primitive_desc_t hint,
                                                 const char* what) {
  primitive_desc_handle pd;
  check(dnnl_primitive_desc_create(pd.out(), op_desc, attr, cpu_engine().engine.get(), hint), what);
  return pd;
}

/// A reorder from one layout of a tensor to another (its arguments: from, to).
inline std::unique_ptr<primitive> make_reorder(const dnnl_memory_desc_t& from,
                                               const dnnl_memory_desc_t& to) {
  const attr_handle attr = user_scratchpad_attr();
  primitive_desc_handle pd;
  const dnnl_engine_t engine = cpu_engine().engine.get();
  check(dnnl_reorder_primitive_desc_create(pd.out(), &from, engine, &to, engine, attr.get()),
        "dnnl_reorder_primitive_desc_create");
  auto made = make_primitive(pd.get(), {});
  made->arguments = {DNNL_ARG_FROM, DNNL_ARG_TO};
  made->descs = {from, to};
  made->argument_count = 2;
  return made;
}

/// What one network keeps of oneDNN: its primitives, and per pool thread a stream and the
/// scratchpad that the primitives run with; and weights reordered into the layout that a
/// convolution reads them in, redone once per forward or backward pass (begin_pass()).
/// A copy of a network starts with none of these (they are made again on first use).
class resources {
 public:
  resources() = default;
  resources(const resources&) : resources() {}
  resources& operator=(const resources&) { return *this; }

  /// The primitive for `key`, made by make() the first time (under a lock: threads of a region
  /// may ask at once), with what every thread of the pool needs to run it (its stream, its
  /// memory objects, a scratchpad large enough), so that whichever thread runs it first in a
  /// later step allocates nothing.
  template <class Make>
  primitive& get(const primitive_key& key, Make&& make) {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto found = primitives_.find(key);
    if (found == primitives_.end()) {
      const single_threaded_openmp one_thread;  // the kernels it chooses are for one thread
      found = primitives_.emplace(key, make()).first;
      for (unsigned thread = 0; thread < cpu_pool().size(); ++thread)
        prepare(*found->second, thread);
    }
    return *found->second;
  }

  /// Runs a primitive on the calling pool thread's stream and scratchpad, with `pointers` the
  /// data of its arguments in the order it was made with.
  void run(primitive& p, std::initializer_list<const void*> pointers) {
    const unsigned thread = thread_pool::current_thread();
    if (!p.memories[thread]) {
      // A thread the pool did not have when the primitive was made (agd::set_threads since).
      const std::lock_guard<std::mutex> lock(mutex_);
      prepare(p, thread);
    }
    per_thread& mine = threads_[thread];
    if (mine.scratchpad.size() < p.scratchpad_bytes) mine.scratchpad.resize(p.scratchpad_bytes);
    auto& memories = p.memories[thread];
    const std::size_t count = p.argument_count;
    ++detail::library_calls_on_this_thread();
    struct leave {
      ~leave() { --detail::library_calls_on_this_thread(); }
    } on_return;
    std::array<dnnl_exec_arg_t, 8> args{};
    std::size_t a = 0;
    for (const void* pointer : pointers) {
      check(dnnl_memory_set_data_handle(memories[a].get(), const_cast<void*>(pointer)),
            "dnnl_memory_set_data_handle");
      args[a] = {p.arguments[a], memories[a].get()};
      ++a;
    }
    check(dnnl_memory_set_data_handle(memories[count].get(), mine.scratchpad.data()),
          "dnnl_memory_set_data_handle");
    args[a++] = {DNNL_ARG_SCRATCHPAD, memories[count].get()};
    const single_threaded_openmp one_thread;
    check(dnnl_primitive_execute(p.handle.get(), mine.stream.get(), int(a), args.data()),
          "dnnl_primitive_execute");
  }

  /// A per-thread buffer of at least `bytes` (a weight gradient in oneDNN's layout before it is
  /// reordered into agd's).
  void* staging(std::size_t bytes) {
    per_thread& mine = threads_[thread_pool::current_thread()];
    if (mine.staging.size() < bytes) mine.staging.resize(bytes);
    return mine.staging.data();
  }
  /// Another per-thread buffer: GEMM operands copied to be contiguous.
  float* operand_staging(std::size_t floats) {
    per_thread& mine = threads_[thread_pool::current_thread()];
    if (mine.operands.size() < floats * sizeof(float)) mine.operands.resize(floats * sizeof(float));
    return static_cast<float*>(mine.operands.data());
  }

  /// A per-thread buffer of bfloat16 values: operands rounded for a bf16 GEMM or convolution.
  bf16* bf16_staging(std::size_t count) {
    per_thread& mine = threads_[thread_pool::current_thread()];
    if (mine.halves.size() < count * sizeof(bf16)) mine.halves.resize(count * sizeof(bf16));
    return static_cast<bf16*>(mine.halves.data());
  }

  /// The weights at `source`, stored as `from` describes, in the layout `to`: converted once per
  /// pass. Those that the last pass of the same kind read are converted by begin_pass(), the
  /// pool's threads sharing the work (one thread converting while the others waited for it cost
  /// ResNet-18 in bf16 a tenth of its step); the first pass that reads one converts it here, by
  /// the first thread of a region that asks, the others waiting for it and sharing the copy.
  const void* converted_weights(const void* source, const dnnl_memory_desc_t& from,
                                const dnnl_memory_desc_t& to) {
    weight_copy* copy = nullptr;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      auto& copies = weight_copies_[source];
      for (auto& candidate : copies)
        if (same(candidate->converter->descs[1], to)) copy = candidate.get();
      if (!copy) {
        const single_threaded_openmp one_thread;
        auto made = std::make_unique<weight_copy>();
        made->converter = make_reorder(from, to);
        for (unsigned thread = 0; thread < cpu_pool().size(); ++thread)
          prepare(*made->converter, thread);
        made->data.resize(size_of(to));
        made->source = source;
        copy = copies.emplace_back(std::move(made)).get();
      }
      const auto kind = std::size_t(kind_);
      if (!(copy->kinds & (1u << kind))) {
        copy->kinds |= 1u << kind;
        // Largest first: the threads of begin_pass() take them in this order.
        auto& due = due_[kind];
        due.insert(
            std::find_if(due.begin(), due.end(),
                         [&](const weight_copy* c) { return c->data.size() < copy->data.size(); }),
            copy);
      }
    }
    const std::lock_guard<std::mutex> lock(copy->mutex);
    if (copy->pass != pass_) {
      run(*copy->converter, {source, copy->data.data()});
      copy->pass = pass_;
    }
    return copy->data.data();
  }

  /// A forward or backward pass begins (no region of this network runs): weights may have
  /// changed since the last one, and every thread's scratchpad is grown to the largest
  /// primitive made so far, so that a thread that first runs a primitive another made in an
  /// earlier pass allocates nothing.
  void begin_pass(pass_kind kind) {
    ++pass_;
    kind_ = kind;
    grow_scratchpads();
    convert_due_weights();
  }

  /// A parallel region of the network has ended (no thread runs a primitive of it): scratchpads
  /// are grown now to a primitive made in it, rather than at the next pass, so that the step
  /// that made it (the warm-up) is the one that allocates.
  void end_region() {
    if (scratchpads_short_.load(std::memory_order_relaxed)) grow_scratchpads();
  }

 private:
  /// Bytes aligned for any oneDNN kernel (64, one cache line), zero-initialised when grown.
  struct aligned_bytes {
    std::unique_ptr<std::byte[]> storage;
    std::size_t bytes = 0;
    void* data() const { return storage ? align(storage.get()) : nullptr; }
    std::size_t size() const { return bytes; }
    void resize(std::size_t n) {
      storage = std::make_unique<std::byte[]>(n + 64);
      bytes = n;
    }
    static void* align(std::byte* p) { return p + (64 - std::uintptr_t(p) % 64) % 64; }
  };
  struct per_thread {
    stream_handle stream;
    aligned_bytes scratchpad;
    aligned_bytes staging;
    aligned_bytes operands;
    aligned_bytes halves;
  };
  struct weight_copy {
    std::mutex mutex;
    std::uint64_t pass = ~std::uint64_t(0);
    std::unique_ptr<primitive> converter;
    aligned_bytes data;
    const void* source = nullptr;
    /// The kinds of pass (bits of pass_kind) that read it.
    unsigned kinds = 0;
  };

  /// Converts the weights that passes of this kind read, each thread of the pool taking the next
  /// largest not yet taken.
  void convert_due_weights() {
    const std::vector<weight_copy*>& due = due_[std::size_t(kind_)];
    if (due.empty()) return;
    std::atomic<std::size_t> next{0};
    cpu_pool().run([&](unsigned, unsigned) {
      for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < due.size();) {
        weight_copy& copy = *due[i];
        const std::lock_guard<std::mutex> lock(copy.mutex);
        if (copy.pass == pass_) continue;
        run(*copy.converter, {copy.source, copy.data.data()});
        copy.pass = pass_;
      }
    });
    end_region();
  }

  void grow_scratchpads() {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (unsigned thread = 0; thread < cpu_pool().size(); ++thread)
      if (threads_[thread].scratchpad.size() < largest_scratchpad_)
        threads_[thread].scratchpad.resize(largest_scratchpad_);
    scratchpads_short_.store(false, std::memory_order_relaxed);
  }

  /// Thread `thread`'s stream and memory objects for p. Its scratchpad is not touched here (the
  /// thread may be running a primitive with it): the largest scratchpad made so far is noted,
  /// and each thread's is grown to it by the thread itself (run()) or between regions
  /// (begin_pass()).
  void prepare(primitive& p, unsigned thread) {
    per_thread& its = threads_[thread];
    if (!its.stream)
      check(dnnl_stream_create(its.stream.out(), cpu_engine().engine.get(),
                               dnnl_stream_default_flags),
            "dnnl_stream_create");
    if (p.scratchpad_bytes > largest_scratchpad_) {
      largest_scratchpad_ = p.scratchpad_bytes;
      scratchpads_short_.store(true, std::memory_order_relaxed);
    }
    auto& memories = p.memories[thread];
    if (memories) return;
    const std::size_t count = p.argument_count;
    memories = std::make_unique<memory_handle[]>(count + 1);
    for (std::size_t a = 0; a <= count; ++a)
      check(dnnl_memory_create(memories[a].out(), a < count ? &p.descs[a] : &p.scratchpad,
                               cpu_engine().engine.get(), DNNL_MEMORY_NONE),
            "dnnl_memory_create");
  }

  std::mutex mutex_;
  std::unordered_map<primitive_key, std::unique_ptr<primitive>, primitive_key_hash> primitives_;
  std::unordered_map<const void*, std::vector<std::unique_ptr<weight_copy>>> weight_copies_;
  std::array<per_thread, thread_pool::max_threads> threads_;
  std::size_t largest_scratchpad_ = 0;
  /// Whether a thread's scratchpad may be smaller than largest_scratchpad_.
  std::atomic<bool> scratchpads_short_{false};
  std::uint64_t pass_ = 0;
  pass_kind kind_ = pass_kind::forward;
  /// Per kind of pass, the weight copies it reads, largest first.
  std::array<std::vector<weight_copy*>, 2> due_;
};

/// The bits of a float, for a key.
inline std::int64_t bits(float value) {
  return std::int64_t(std::bit_cast<std::uint32_t>(value));
}

/// C (m x n) = alpha op(A) op(B) + beta C, column-major with leading dimensions: one matmul
/// primitive per distinct call, run single-threaded on the calling thread. oneDNN's matmul is
/// row-major, so it computes C^T = op(B)^T op(A)^T, which are the same bytes.
///
/// oneDNN 2.6 runs its fastest matmul (brgemm) only on contiguous matrices; on one with gaps
/// between its columns it takes its older GEMM, which allocates its packing buffers on every
/// call. So a strided A or B is first copied into a contiguous per-thread buffer (the network
/// arranges its GEMMs so that only the small operand of a weight gradient ever is, Dense's
/// weight_gradient_by_columns), and a strided C is declined: returns false, and the caller
/// runs Eigen's GEMM; so is every GEMM where oneDNN has no brgemm matmul (engine_facts).
///
/// In bf16 (core/precision.hpp) A and B are rounded into per-thread bf16 copies, contiguous,
/// and the matmul multiplies those with float sums into the float C; it is never declined (a
/// bf16 network exists only where the CPU has bf16 instructions, where matmul is brgemm).
inline bool gemm(resources& res, compute_precision precision, bool transpose_a, bool transpose_b,
                 std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
  const bool bf16_inputs = precision == compute_precision::bf16;
  if (!bf16_inputs && ((ldc != m && n > 1) || !cpu_engine().brgemm_matmul)) return false;
  // The rows of A and B as stored (op(A) is m x k, op(B) k x n).
  const std::size_t a_rows = transpose_a ? k : m, a_cols = transpose_a ? m : k;
  const std::size_t b_rows = transpose_b ? n : k, b_cols = transpose_b ? k : n;
  const void* a_data = a;
  const void* b_data = b;
  if (bf16_inputs) {
    agd::bf16* rounded = res.bf16_staging(a_rows * a_cols + b_rows * b_cols);
    const auto round = [&](const float* from, std::size_t rows, std::size_t cols, std::size_t ld) {
      if (ld == rows || cols == 1)
        round_into_bf16(from, rows * cols, rounded);
      else
        for (std::size_t j = 0; j < cols; ++j)
          round_into_bf16(from + j * ld, rows, rounded + j * rows);
      const agd::bf16* made = rounded;
      rounded += rows * cols;
      return made;
    };
    a_data = round(a, a_rows, a_cols, lda);
    b_data = round(b, b_rows, b_cols, ldb);
  } else {
    const bool a_gaps = lda != a_rows && a_cols > 1, b_gaps = ldb != b_rows && b_cols > 1;
    if (a_gaps || b_gaps) {
      float* copy =
          res.operand_staging((a_gaps ? a_rows * a_cols : 0) + (b_gaps ? b_rows * b_cols : 0));
      const auto gather = [&](const float* from, std::size_t rows, std::size_t cols,
                              std::size_t ld) {
        for (std::size_t j = 0; j < cols; ++j)
          std::memcpy(copy + j * rows, from + j * ld, rows * sizeof(float));
        const float* gathered = copy;
        copy += rows * cols;
        return gathered;
      };
      if (a_gaps) a_data = gather(a, a_rows, a_cols, lda);
      if (b_gaps) b_data = gather(b, b_rows, b_cols, ldb);
    }
    ldc = m;
  }
  lda = a_rows;
  ldb = b_rows;
  const auto d = [](std::size_t v) { return dnnl_dim_t(v); };
  primitive_key key{matmul,
                    {transpose_a, transpose_b, d(m), d(n), d(k), bits(alpha), bits(beta),
                     std::int64_t(precision), d(ldc)}};
  primitive& p = res.get(key, [&] {
    const dnnl_data_type_t type = input_type(precision);
    // op(B)^T (n x k): B^T stored row-major when B is not transposed.
    const dnnl_memory_desc_t src =
        strided_desc({d(n), d(k)},
                     transpose_b ? std::initializer_list<dnnl_dim_t>{1, d(ldb)}
                                 : std::initializer_list<dnnl_dim_t>{d(ldb), 1},
                     type);
    const dnnl_memory_desc_t weights =
        strided_desc({d(k), d(m)},
                     transpose_a ? std::initializer_list<dnnl_dim_t>{1, d(lda)}
                                 : std::initializer_list<dnnl_dim_t>{d(lda), 1},
                     type);
    const dnnl_memory_desc_t dst = strided_desc({d(n), d(m)}, {d(ldc), 1});
    dnnl_matmul_desc_t desc;
    check(dnnl_matmul_desc_init(&desc, &src, &weights, nullptr, &dst), "dnnl_matmul_desc_init");
    const attr_handle attr = user_scratchpad_attr();
    if (alpha != 1.0f)
      check(dnnl_primitive_attr_set_output_scales(attr.get(), 1, 0, &alpha),
            "dnnl_primitive_attr_set_output_scales");
    post_ops_handle post_ops;
    if (beta != 0.0f) {
      check(dnnl_post_ops_create(post_ops.out()), "dnnl_post_ops_create");
      check(dnnl_post_ops_append_sum(post_ops.get(), beta), "dnnl_post_ops_append_sum");
      check(dnnl_primitive_attr_set_post_ops(attr.get(), post_ops.get()),
            "dnnl_primitive_attr_set_post_ops");
    }
    const primitive_desc_handle pd =
        make_primitive_desc(&desc, attr.get(), nullptr, "making a matmul primitive");
    return make_primitive(pd.get(), {{DNNL_ARG_SRC, dnnl_query_src_md},
                                     {DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                                     {DNNL_ARG_DST, dnnl_query_dst_md}});
  });
  res.run(p, {b_data, a_data, c});
  return true;
}

}  // namespace agd::onednn

#endif  // AGD_WITH_ONEDNN
