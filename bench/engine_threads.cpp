// bench_engine_threads: why the oneDNN engine runs each pool thread's part single-threaded
// (docs/cpu-gemm.md). In one run, for the same work:
//   pool      agd's pool, each thread one single-threaded oneDNN call on its half (the engine);
//   openmp    one oneDNN call on OpenMP's threads (oneDNN's own split), the pool idle;
// for the 11 GEMMs of the main FCN's step (dnnl_sgemm) and for the convolutions (forward,
// backward to the input, backward to the weights; blocked layout) at FashionCNN's, ResNet-18's and
// VGG-16's layer shapes; and for the weight gradient the engine's split by output channels.
//
//   build/bench/bench_engine_threads [--threads N] [--reps N]
#include <omp.h>
#include <dnnl.hpp>

#include <agd/agd.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace {

int repeats = 30;

double median_ms(const std::function<void()>& run) {
  for (int i = 0; i < 3; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void fcn_gemms(int threads) {
  const long widths[] = {784, 512, 512, 512, 10};
  const long n = 128;
  std::vector<Eigen::MatrixXf> w, x, dx, dw;
  for (int l = 0; l < 4; ++l) {
    w.push_back(Eigen::MatrixXf::Random(widths[l + 1], widths[l]));
    dw.push_back(Eigen::MatrixXf::Zero(widths[l + 1], widths[l]));
  }
  for (int l = 0; l <= 4; ++l) {
    x.push_back(Eigen::MatrixXf::Random(widths[l], n));
    dx.push_back(Eigen::MatrixXf::Zero(widths[l], n));
  }
  double flops = 0;
  for (int l = 0; l < 4; ++l) flops += 2.0 * widths[l + 1] * widths[l] * n * (l == 0 ? 2 : 3);
  // Column-major C = op(A) op(B) through the row-major dnnl_sgemm: C^T = op(B)^T op(A)^T.
  const auto gemm = [](bool ta, bool tb, long m, long cols, long k, const float* a, long lda,
                       const float* b, long ldb, float* c, long ldc) {
    dnnl_sgemm(tb ? 'T' : 'N', ta ? 'T' : 'N', cols, m, k, 1.0f, b, ldb, a, lda, 0.0f, c, ldc);
  };
  // The step's GEMMs over samples [c0, c1) (forward and input gradients) and dW columns
  // [first, first + count) of every layer.
  const auto by_samples = [&](long c0, long c1) {
    for (int l = 0; l < 4; ++l)
      gemm(false, false, widths[l + 1], c1 - c0, widths[l], w[l].data(), widths[l + 1],
           x[l].data() + c0 * widths[l], widths[l], x[l + 1].data() + c0 * widths[l + 1],
           widths[l + 1]);
    for (int l = 3; l >= 1; --l)
      gemm(true, false, widths[l], c1 - c0, widths[l + 1], w[l].data(), widths[l + 1],
           x[l + 1].data() + c0 * widths[l + 1], widths[l + 1], dx[l].data() + c0 * widths[l],
           widths[l]);
  };
  const auto weight_columns = [&](unsigned t, unsigned count) {
    for (int l = 0; l < 4; ++l) {
      const auto [first, cols] = agd::split_range(widths[l], t, count, 16);
      if (cols == 0) continue;
      gemm(false, true, widths[l + 1], cols, n, x[l + 1].data(), widths[l + 1], x[l].data() + first,
           widths[l], dw[l].data() + first * widths[l + 1], widths[l + 1]);
    }
  };
  omp_set_num_threads(1);
  agd::cpu_pool().run([](unsigned, unsigned) { omp_set_num_threads(1); });
  const double pool = median_ms([&] {
    agd::cpu_pool().run([&](unsigned t, unsigned count) {
      const auto [c0, cols] = agd::split_range(n, t, count);
      by_samples(c0, c0 + cols);
    });
    agd::cpu_pool().run(weight_columns);
  });
  omp_set_num_threads(threads);
  const double openmp = median_ms([&] {
    by_samples(0, n);
    weight_columns(0, 1);
  });
  omp_set_num_threads(1);
  std::printf("fcn_gemms pool_ms=%.3f openmp_ms=%.3f pool_gflops=%.1f openmp_gflops=%.1f\n", pool,
              openmp, flops / pool / 1e6, flops / openmp / 1e6);
}

using namespace dnnl;
using tag = memory::format_tag;

struct convolution {
  convolution_forward forward;
  convolution_backward_data backward_data;
  convolution_backward_weights backward_weights;
  memory src, dst, weights, diff_src, diff_dst, diff_weights, pad1, pad2, pad3;
  convolution(engine& eng, long n, long c, long o, long h, long diff_o) {
    const memory::dims strides{1, 1}, padding{1, 1};
    const auto src_md = memory::desc({n, c, h, h}, memory::data_type::f32, tag::nChw16c);
    const auto dst_md = memory::desc({n, diff_o, h, h}, memory::data_type::f32, tag::nChw16c);
    const auto w_md = memory::desc({diff_o, c, 3, 3}, memory::data_type::f32, tag::any);
    (void)o;
    primitive_attr attr;
    attr.set_scratchpad_mode(scratchpad_mode::user);
    const auto fpd = convolution_forward::primitive_desc(
        {prop_kind::forward_training, algorithm::convolution_direct, src_md, w_md, dst_md, strides,
         padding, padding},
        attr, eng);
    const auto dpd = convolution_backward_data::primitive_desc(
        {algorithm::convolution_direct, src_md, w_md, dst_md, strides, padding, padding}, attr, eng,
        fpd);
    const auto wpd = convolution_backward_weights::primitive_desc(
        {algorithm::convolution_direct, src_md, w_md, dst_md, strides, padding, padding}, attr, eng,
        fpd);
    forward = convolution_forward(fpd);
    backward_data = convolution_backward_data(dpd);
    backward_weights = convolution_backward_weights(wpd);
    src = memory(fpd.src_desc(), eng);
    dst = memory(fpd.dst_desc(), eng);
    weights = memory(fpd.weights_desc(), eng);
    diff_src = memory(dpd.diff_src_desc(), eng);
    diff_dst = memory(dpd.diff_dst_desc(), eng);
    diff_weights = memory(wpd.diff_weights_desc(), eng);
    pad1 = memory(fpd.scratchpad_desc(), eng);
    pad2 = memory(dpd.scratchpad_desc(), eng);
    pad3 = memory(wpd.scratchpad_desc(), eng);
    for (memory* m : {&src, &dst, &weights, &diff_src, &diff_dst, &diff_weights}) {
      float* p = static_cast<float*>(m->get_data_handle());
      const std::size_t count = m->get_desc().get_size() / sizeof(float);
      for (std::size_t i = 0; i < count; ++i) p[i] = 0.01f * float(i % 97);
    }
  }
  void run_forward(stream& s) {
    forward.execute(s, {{DNNL_ARG_SRC, src},
                        {DNNL_ARG_WEIGHTS, weights},
                        {DNNL_ARG_DST, dst},
                        {DNNL_ARG_SCRATCHPAD, pad1}});
  }
  void run_backward_data(stream& s) {
    backward_data.execute(s, {{DNNL_ARG_DIFF_SRC, diff_src},
                              {DNNL_ARG_WEIGHTS, weights},
                              {DNNL_ARG_DIFF_DST, diff_dst},
                              {DNNL_ARG_SCRATCHPAD, pad2}});
  }
  void run_backward_weights(stream& s) {
    backward_weights.execute(s, {{DNNL_ARG_SRC, src},
                                 {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                 {DNNL_ARG_DIFF_DST, diff_dst},
                                 {DNNL_ARG_SCRATCHPAD, pad3}});
  }
};

void convolutions(int threads) {
  engine eng(engine::kind::cpu, 0);
  std::vector<stream> streams;
  for (int t = 0; t < threads; ++t) streams.emplace_back(eng);
  struct shape {
    const char* net;
    long n, c, o, h;
  };
  const shape shapes[] = {{"fashion_cnn", 128, 32, 64, 14}, {"resnet18", 32, 64, 64, 32},
                          {"resnet18", 32, 128, 128, 16},   {"resnet18", 32, 256, 256, 8},
                          {"resnet18", 32, 512, 512, 4},    {"vgg16", 32, 512, 512, 2}};
  for (const shape& s : shapes) {
    const double mflop = 2.0 * s.n * s.o * s.h * s.h * s.c * 9 / 1e6;
    // The engine: one single-threaded primitive per pool thread.
    omp_set_num_threads(1);
    agd::cpu_pool().run([](unsigned, unsigned) { omp_set_num_threads(1); });
    std::vector<convolution> halves, channel_blocks;
    for (int t = 0; t < threads; ++t) {
      halves.emplace_back(eng, s.n / threads, s.c, s.o, s.h, s.o);
      channel_blocks.emplace_back(eng, s.n, s.c, s.o, s.h, s.o / threads);
    }
    const auto on_pool = [&](auto&& f) {
      return median_ms([&] { agd::cpu_pool().run([&](unsigned t, unsigned) { f(t); }); });
    };
    const double pool_f = on_pool([&](unsigned t) { halves[t].run_forward(streams[t]); });
    const double pool_d = on_pool([&](unsigned t) { halves[t].run_backward_data(streams[t]); });
    const double pool_w = on_pool([&](unsigned t) { halves[t].run_backward_weights(streams[t]); });
    const double pool_wc =
        on_pool([&](unsigned t) { channel_blocks[t].run_backward_weights(streams[t]); });
    // oneDNN's own threads on the whole batch.
    omp_set_num_threads(threads);
    convolution whole(eng, s.n, s.c, s.o, s.h, s.o);
    const double omp_f = median_ms([&] { whole.run_forward(streams[0]); });
    const double omp_d = median_ms([&] { whole.run_backward_data(streams[0]); });
    const double omp_w = median_ms([&] { whole.run_backward_weights(streams[0]); });
    omp_set_num_threads(1);
    std::printf(
        "conv net=%s batch=%ld %ld->%ld %ldx%ld GFLOP/s: forward pool=%.0f openmp=%.0f | "
        "backward_data pool=%.0f openmp=%.0f | backward_weights pool_by_samples=%.0f "
        "pool_by_channels=%.0f openmp=%.0f\n",
        s.net, s.n, s.c, s.o, s.h, s.h, mflop / pool_f, mflop / omp_f, mflop / pool_d,
        mflop / omp_d, mflop / pool_w, mflop / pool_wc, mflop / omp_w);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 < argc && flag == "--threads")
      threads = std::atoi(argv[++i]);
    else if (i + 1 < argc && flag == "--reps")
      repeats = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_engine_threads [--threads N] [--reps N]\n");
      return 2;
    }
  }
  if (threads < 1 || repeats < 1) {
    std::fprintf(stderr, "bench_engine_threads: --threads and --reps must be positive\n");
    return 2;
  }
  agd::set_threads(threads);
  std::printf("# %d threads, oneDNN on %s; load average at start: see /proc/loadavg\n", threads,
              agd::onednn::cpu_engine().isa.c_str());
  fcn_gemms(threads);
  convolutions(threads);
  return 0;
}
