// Several application threads using agd at once (an inference server predicting on copies of a
// network, another thread training its own): nothing hangs or crashes, and every thread gets
// exactly what it gets alone. agd's pool runs one parallel region at a time (a region started
// while another thread's runs waits for it, thread_pool.hpp), and each region has every thread
// of the pool, so results do not depend on what else runs. CI runs this program under
// ThreadSanitizer too.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using Net =
    agd::Sequential<agd::Input<1, 8, 8>, agd::Conv2d<1, 16, 3>, agd::Sqrt2Relu, agd::MaxPool2d<2>,
                    agd::Flatten, agd::Dense<16 * 4 * 4, 32>, agd::Sqrt2Relu, agd::Dense<32, 10>>;

Eigen::MatrixXf inputs(std::size_t samples, unsigned seed) {
  std::srand(seed);
  return Eigen::MatrixXf::Random(Net::input_size, Eigen::Index(samples));
}

/// Trains a fresh network for `steps` AGD steps on fixed data; returns its weights.
std::vector<float> train(int steps) {
  Net net(32, 5);
  agd::AGD optimizer(net, {.seed = 5});
  const Eigen::MatrixXf x = inputs(32, 9);
  std::vector<std::int32_t> labels(32);
  for (std::size_t j = 0; j < labels.size(); ++j) labels[j] = std::int32_t(j % 10);
  for (int step = 0; step < steps; ++step) {
    net.input_buffer().leftCols(32) = x;
    agd::train::train_step<agd::MSELoss>(net, optimizer, std::span<const std::int32_t>(labels));
  }
  return net.weights_to_host();
}

}  // namespace

TEST_CASE("threads: predicting and training from several threads at once", "[threads]") {
  agd::set_threads(2);
  Net trained(64, 3);
  const Eigen::MatrixXf queries = inputs(300, 4);
  // What each thread must get: the same calls, one thread at a time.
  const std::vector<std::int32_t> classes = agd::predict(trained, queries);
  const Eigen::MatrixXf probabilities = agd::predict_probabilities(trained, queries);
  const std::vector<float> weights = train(6);

  constexpr int predictors = 3, rounds = 20;
  std::vector<int> wrong(predictors, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < predictors; ++t)
    threads.emplace_back([&, t] {
      Net copy(64, 0);
      copy.weights_from_host(trained.weights_to_host());
      for (int round = 0; round < rounds; ++round) {
        if (agd::predict(copy, queries) != classes) ++wrong[std::size_t(t)];
        if (!(agd::predict_probabilities(copy, queries).array() == probabilities.array()).all())
          ++wrong[std::size_t(t)];
      }
    });
  std::vector<float> trained_meanwhile;
  std::thread trainer([&] { trained_meanwhile = train(6); });
  for (auto& thread : threads) thread.join();
  trainer.join();
  agd::set_threads(0);

  for (int t = 0; t < predictors; ++t) CHECK(wrong[std::size_t(t)] == 0);
  CHECK(trained_meanwhile == weights);
}

TEST_CASE("threads: an exception in any thread of a region reaches its caller", "[threads]") {
  agd::set_threads(2);
  agd::thread_pool& pool = agd::cpu_pool();
  for (unsigned failing = 0; failing < 2; ++failing) {
    INFO("thread " << failing << " of the region throws");
    CHECK_THROWS_WITH(pool.run([&](unsigned thread, unsigned) {
      if (thread == failing) throw std::runtime_error("part failed");
    }),
                      "part failed");
  }
  // The pool still runs regions afterwards.
  std::vector<int> ran(2, 0);
  pool.run([&](unsigned thread, unsigned) { ran[thread] = 1; });
  CHECK(ran == std::vector<int>{1, 1});
  agd::set_threads(0);
}
