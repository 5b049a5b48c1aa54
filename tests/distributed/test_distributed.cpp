// Data-parallel training over MPI, run as `mpirun -np 2 test_distributed "[tag]"` (ctest names
// distributed.*; tests/CMakeLists.txt). Every rank runs every test case in the same order (their
// collective calls must match); a case that needs two ranks says so when run on another count.
//
// The reference for "the same training" is one process with the global batch: two ranks with
// local batch 64 sum gradients that one process with batch 128 computes in one GEMM, so they
// agree to float rounding (1e-5 relative), not bit for bit. A 1-rank communicator takes the
// data-parallel code path (overlapped backward, sums, sharded evaluation) and must agree with
// one process bit for bit.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <agd/agd.hpp>
#include <agd/distributed/mpi.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../scratch_dir.hpp"

namespace {

/// tanh, smooth: the comparisons below are to float rounding, and a ReLU's derivative jumps at 0,
/// so with ReLUs one pre-activation that rounding puts on the other side of 0 (in one of the
/// ~500k that 20 steps compute) changes that step's gradient by ~1/(batch x width), far above
/// rounding, after which AGD's normalised steps carry the difference on (seen here: 1e-8 for 7
/// steps, then 7e-5 at step 8 and 2e-3 at step 15, on one seed). The data-parallel code does not
/// depend on the activation.
struct Tanh : agd::elementwise_activation {
  static constexpr auto function = agd::expr::tanh(agd::expr::x);
  static constexpr auto derivative = 1.0 - agd::expr::y * agd::expr::y;
  static std::string name() { return "Tanh"; }
};

using Net = agd::Sequential<agd::Dense<32, 96>, Tanh, agd::Dense<96, 96>, Tanh, agd::Dense<96, 10>>;
/// For the overflow test: tanh would saturate the Inf that an overflowing sum gives.
using ReluNet = agd::Sequential<agd::Dense<32, 96>, agd::Sqrt2Relu, agd::Dense<96, 96>,
                                agd::Sqrt2Relu, agd::Dense<96, 10>>;
constexpr std::size_t local_batch = 64;

/// Ten Gaussian clusters in 32 dimensions, deterministic (the same binary on every rank).
agd::data::dataset make_data(std::size_t samples, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::MatrixXf centres(32, 10);
  for (Eigen::Index i = 0; i < centres.size(); ++i) centres.data()[i] = 2 * normal(rng);
  agd::data::dataset data;
  data.inputs.resize(32, Eigen::Index(samples));
  data.labels.resize(samples);
  for (std::size_t j = 0; j < samples; ++j) {
    const auto label = std::int32_t(j % 10);
    data.labels[j] = label;
    for (Eigen::Index i = 0; i < 32; ++i)
      data.inputs(i, Eigen::Index(j)) = centres(i, label) + normal(rng);
  }
  return data;
}

struct world {
  agd::distributed::mpi_communicator* all = nullptr;
  std::size_t rank = 0, size = 1;
};
world& the_world() {
  static world w;
  return w;
}

/// Per-tensor ||a - b||_F / ||b||_F, the largest over the weights.
double largest_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t k = 0; k < Net::depth; ++k) {
    double difference = 0, norm = 0;
    for (std::size_t i = Net::weight_offsets[k]; i < Net::weight_offsets[k + 1]; ++i) {
      difference += double(a[i] - b[i]) * double(a[i] - b[i]);
      norm += double(b[i]) * double(b[i]);
    }
    worst = std::max(worst, std::sqrt(difference / norm));
  }
  return worst;
}

/// The message of the `Error` that `f` throws; fails the test, saying `why`, if it throws none.
template <class Error, class F>
std::string error_message(F&& f, const char* why) {
  try {
    f();
  } catch (const Error& error) {
    return error.what();
  }
  FAIL(why);
  return {};
}

struct run_result {
  std::vector<float> weights;
  std::vector<agd::train::epoch_metrics> history;
  std::vector<double> losses, etas;  // on_step's, every step
};

/// Trains a fresh network (seed 3) for 2 epochs of 10 steps with `make_optimizer`'s optimiser,
/// on `comm` (nullptr: one process) with `capacity` samples per rank and step.
template <class MakeOptimizer>
run_result train(MakeOptimizer make_optimizer, agd::distributed::communicator* comm,
                 std::size_t capacity, const agd::data::dataset& train_set,
                 const agd::data::dataset& test_set, bool overlap = true,
                 std::size_t bucket_bytes = std::size_t(1) << 20) {
  Net net(capacity);
  auto optimizer = make_optimizer(net);
  agd::train::fit_options options;
  options.epochs = 2;
  options.max_steps_per_epoch = 10;
  options.seed = 11;
  options.log = nullptr;
  options.distributed = {.comm = comm, .overlap = overlap, .bucket_bytes = bucket_bytes};
  run_result result;
  options.on_step = [&](std::size_t, double loss, double eta) {
    result.losses.push_back(loss);
    result.etas.push_back(eta);
  };
  result.history = agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options);
  result.weights = net.weights_to_host();
  return result;
}

const auto make_agd = [](Net& net) { return agd::AGD<Net>(net, {.seed = 3}); };
const auto make_adam = [](Net& net) { return agd::Adam<Net>(net, {.lr = 1e-3, .seed = 3}); };
const auto make_sgd = [](Net& net) {
  return agd::SGD<Net>(net, {.lr = 0.05, .momentum = 0.9, .seed = 3});
};

/// Two ranks with local batch 64 against one process with batch 128: the weights after 20
/// steps, each step's loss and eta, and the epochs' metrics. Also with the sums after the
/// backward pass (no overlap) and with one bucket per weight, which must agree with the
/// overlapped run bit for bit (the sum of two ranks' values does not depend on how the buffer is
/// cut), and on a 1-rank communicator, which must agree with one process bit for bit.
template <class MakeOptimizer>
void check_matches_one_process(MakeOptimizer make_optimizer) {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  const auto train_set = make_data(4096, 1), test_set = make_data(1000, 2);
  const run_result one = train(make_optimizer, nullptr, 2 * local_batch, train_set, test_set);
  const run_result two = train(make_optimizer, w.all, local_batch, train_set, test_set);
  INFO("rank " << w.rank);
  CHECK(largest_relative_difference(two.weights, one.weights) < 1e-5);
  // Training moved the weights far more than the rounding differences.
  const run_result untrained = [&] {
    Net net(1);
    auto optimizer = make_optimizer(net);
    return run_result{net.weights_to_host(), {}, {}, {}};
  }();
  CHECK(largest_relative_difference(untrained.weights, one.weights) > 1e-2);
  REQUIRE(two.losses.size() == 20);
  REQUIRE(one.losses.size() == 20);
  for (std::size_t s = 0; s < 20; ++s) {
    CHECK(two.losses[s] == Approx(one.losses[s]).epsilon(1e-5));
    CHECK(two.etas[s] == Approx(one.etas[s]).epsilon(1e-5));
  }
  REQUIRE(two.history.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {
    CHECK(two.history[e].train_loss == Approx(one.history[e].train_loss).epsilon(1e-5));
    CHECK(two.history[e].train_accuracy == Approx(one.history[e].train_accuracy).margin(1e-9));
    CHECK(two.history[e].test_loss == Approx(one.history[e].test_loss).epsilon(1e-4));
    CHECK(two.history[e].test_accuracy == Approx(one.history[e].test_accuracy).margin(2e-3));
  }
  // The loss fell: this is training, not a no-op that trivially matches.
  CHECK(one.history[1].train_loss < 0.9 * one.losses[0]);

  const run_result blocking = train(make_optimizer, w.all, local_batch, train_set, test_set,
                                    /*overlap=*/false);
  CHECK(blocking.weights == two.weights);
  const run_result per_weight = train(make_optimizer, w.all, local_batch, train_set, test_set,
                                      /*overlap=*/true, /*bucket_bytes=*/1);
  CHECK(per_weight.weights == two.weights);

  // A communicator of this rank alone: the data-parallel path with one rank is one process.
  MPI_Comm alone = MPI_COMM_NULL;
  MPI_Comm_split(w.all->handle(), int(w.rank), 0, &alone);
  {
    agd::distributed::mpi_communicator self(alone);
    const run_result single = train(make_optimizer, &self, 2 * local_batch, train_set, test_set);
    CHECK(single.weights == one.weights);
    CHECK(single.losses == one.losses);
    CHECK(single.history[1].test_loss == Approx(one.history[1].test_loss).epsilon(1e-12));
  }
  MPI_Comm_free(&alone);
}

}  // namespace

TEST_CASE("two ranks of batch 64 train as one process of batch 128: AGD", "[agd]") {
  check_matches_one_process(make_agd);
}

TEST_CASE("two ranks of batch 64 train as one process of batch 128: Adam", "[adam]") {
  check_matches_one_process(make_adam);
}

TEST_CASE("two ranks of batch 64 train as one process of batch 128: SGD", "[sgd]") {
  check_matches_one_process(make_sgd);
}

TEST_CASE("a checkpoint of a 2-rank run resumes in one process and continues the same run",
          "[resume]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  const auto train_set = make_data(4096, 1), test_set = make_data(1000, 2);
  agd_test::scratch_dir scratch("agd_distributed_resume");
  const auto checkpoint = scratch.path / "at_step_15.safetensors";
  const auto csv = scratch.path / "epochs.csv";

  // The 2-rank run: 2 epochs of 10 steps, a checkpoint every 5 steps (rank 0 writes them).
  Net net(local_batch);
  agd::Adam<Net> optimizer(net, {.lr = 1e-3, .seed = 3});
  agd::train::fit_options options;
  options.epochs = 2;
  options.max_steps_per_epoch = 10;
  options.seed = 11;
  options.log = nullptr;
  options.csv = csv;
  options.checkpoint_every_steps = 5;
  options.distributed.comm = w.all;
  std::size_t checkpoints = 0;
  options.on_checkpoint = [&](const agd::train::training_position& position) {
    ++checkpoints;
    if (position.global_step == 15)
      agd::io::save_checkpoint(
          checkpoint, net, optimizer,
          {.step = position.global_step, .epoch = position.epoch, .extra = position.to_metadata()});
  };
  const auto history =
      agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options);
  const std::vector<float> two_rank_weights = net.weights_to_host();
  INFO("rank " << w.rank);
  // Rank 0 alone calls on_checkpoint (at steps 5, 15 and after each epoch) and writes the CSV.
  CHECK(checkpoints == (w.rank == 0 ? 4u : 0u));
  CHECK(std::filesystem::exists(csv) == (w.rank == 0));
  CHECK(std::filesystem::exists(checkpoint) == (w.rank == 0));
  if (w.rank != 0) return;
  {
    std::ifstream rows(csv);
    std::string line;
    std::size_t count = 0;
    while (std::getline(rows, line)) ++count;
    CHECK(count == 3);  // the header and two epochs
  }

  // One process, the global batch, resumed at step 15 (epoch 2, step 5 of it).
  Net resumed(2 * local_batch);
  agd::Adam<Net> resumed_optimizer(resumed, {.lr = 1e-3});
  const auto info = agd::io::load_checkpoint(checkpoint, resumed, resumed_optimizer);
  agd::train::fit_options resume_options = options;
  resume_options.distributed.comm = nullptr;
  resume_options.csv.reset();
  resume_options.on_checkpoint = nullptr;
  resume_options.resume = agd::train::training_position::from_metadata(info.extra);
  CHECK(resume_options.resume->batch_size == 2 * local_batch);  // the global batch
  const auto continued = agd::train::fit(resumed, resumed_optimizer, agd::MSELoss{}, train_set,
                                         test_set, resume_options);
  REQUIRE(continued.size() == 1);
  CHECK(continued[0].epoch == 2);
  CHECK(continued[0].steps == 10);
  CHECK(largest_relative_difference(resumed.weights_to_host(), two_rank_weights) < 1e-5);
  // The epoch's metrics include the 5 steps taken before the checkpoint, as if uninterrupted.
  CHECK(continued[0].train_loss == Approx(history[1].train_loss).epsilon(1e-5));
  CHECK(continued[0].train_accuracy == Approx(history[1].train_accuracy).margin(1e-9));
  CHECK(continued[0].mean_eta == Approx(history[1].mean_eta).epsilon(1e-12));
  CHECK(continued[0].test_loss == Approx(history[1].test_loss).epsilon(1e-4));
}

TEST_CASE("a non-finite loss on one rank stops every rank with the same error", "[non-finite]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  auto train_set = make_data(4096, 1);
  const auto test_set = make_data(1000, 2);
  // A sample whose every input is 3e38 (finite) overflows the first layer's float sums to Inf;
  // put it where step 3 of epoch 1 gives it to rank 1.
  agd::data::batch_sampler sampler(train_set.size(), 2 * local_batch, 11, true);
  sampler.start_epoch(0);
  const std::size_t victim = sampler.epoch_order()[2 * 2 * local_batch + local_batch + 7];
  train_set.inputs.col(Eigen::Index(victim)).setConstant(3e38f);

  ReluNet net(local_batch);
  agd::AGD<ReluNet> optimizer(net, {.seed = 3});
  agd::train::fit_options options;
  options.seed = 11;
  options.log = nullptr;
  options.distributed.comm = w.all;
  std::vector<float> after_step_2;
  options.on_step = [&](std::size_t step, double, double) {
    if (step == 2) after_step_2 = net.weights_to_host();
  };
  INFO("rank " << w.rank);
  const std::string message = error_message<agd::non_finite_error>(
      [&] { agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options); },
      "fit returned although rank 1's loss was not finite");
  INFO(message);
  CHECK(message.find("the loss on rank 1 of 2 is not finite") != std::string::npos);
  CHECK(message.find("no weight was changed on any rank") != std::string::npos);
  CHECK(message.find("(epoch 1, step 3)") != std::string::npos);
  // Rank 1 adds its own words (the loss is inf).
  CHECK((message.find("rank 1: ") != std::string::npos) == (w.rank == 1));
  CHECK(net.weights_to_host() == after_step_2);
}

TEST_CASE("ranks that hold different weights or batch capacities refuse to start", "[agreement]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  const auto train_set = make_data(1024, 1), test_set = make_data(200, 2);
  agd::train::fit_options options;
  options.log = nullptr;
  options.max_steps_per_epoch = 2;
  options.distributed.comm = w.all;
  INFO("rank " << w.rank);
  {
    Net net(local_batch);
    agd::AGD<Net> optimizer(net, {.seed = w.rank == 1 ? 4u : 3u});
    const std::vector<float> before = net.weights_to_host();
    const std::string message = error_message<std::invalid_argument>(
        [&] { agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options); },
        "fit trained with different weights on the ranks");
    INFO(message);
    CHECK(message.find("the weights (rank 1 differs from rank 0)") != std::string::npos);
    CHECK(message.find("the batch capacity (") == std::string::npos);
    CHECK(net.weights_to_host() == before);
  }
  {
    Net net(w.rank == 1 ? 32 : local_batch);
    agd::AGD<Net> optimizer(net, {.seed = 3});
    const std::string message = error_message<std::invalid_argument>(
        [&] { agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options); },
        "fit trained with different batch capacities on the ranks");
    INFO(message);
    CHECK(message.find("the batch capacity (rank 0: 64, rank 1: 32)") != std::string::npos);
  }
  {
    // A CSV path rank 0 cannot write: every rank refuses to start, rank 0 with its own error.
    Net net(local_batch);
    agd::AGD<Net> optimizer(net, {.seed = 3});
    options.csv = "/nonexistent-directory/epochs.csv";
    const std::string message = error_message<std::exception>(
        [&] { agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options); },
        "fit started although rank 0 cannot write its CSV file");
    INFO(message);
    if (w.rank == 0)
      CHECK(message.find("nonexistent-directory") != std::string::npos);
    else
      CHECK(message.find("rank 0 could not start training") != std::string::npos);
  }
}

TEST_CASE("ranks with other optimiser options or training settings refuse to start, naming them",
          "[option-agreement]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  const auto train_set = make_data(1024, 1), test_set = make_data(200, 2);
  const bool one = w.rank == 1;
  const auto quiet = [&] {
    agd::train::fit_options options;
    options.log = nullptr;
    options.max_steps_per_epoch = 2;
    options.distributed.comm = w.all;
    return options;
  };
  INFO("rank " << w.rank);
  // Runs fit (which must refuse on every rank, before any step) and returns its message.
  const auto refusal = [&](auto& net, auto& optimizer, const agd::train::fit_options& options,
                           const char* why, bool cross_entropy_on_rank_1 = false) {
    const std::vector<float> before = net.weights_to_host();
    std::size_t steps = 0;
    agd::train::fit_options counted = options;
    counted.on_step = [&](std::size_t, double, double) { ++steps; };
    const std::string message = error_message<std::invalid_argument>(
        [&] {
          if (cross_entropy_on_rank_1 && one)
            agd::train::fit(net, optimizer, agd::CrossEntropyLoss{}, train_set, test_set, counted);
          else
            agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, counted);
        },
        why);
    CHECK(steps == 0);
    CHECK(net.weights_to_host() == before);
    return message;
  };
  {
    // SGD's learning rate: before the check compared options, this trained to different weights.
    Net net(local_batch);
    agd::SGD<Net> optimizer(net, {.lr = one ? 0.2 : 0.1, .seed = 3});
    const std::string message =
        refusal(net, optimizer, quiet(), "fit trained with different learning rates");
    INFO(message);
    CHECK(message.find("the optimiser option lr (rank 0: 0.1, rank 1: 0.2)") != std::string::npos);
    CHECK(message.find("momentum") == std::string::npos);  // the same on both ranks
  }
  {
    Net net(local_batch);
    agd::SGD<Net> optimizer(net, {.lr = 0.1, .momentum = one ? 0.5 : 0.9, .seed = 3});
    const std::string message =
        refusal(net, optimizer, quiet(), "fit trained with different SGD momenta");
    INFO(message);
    CHECK(message.find("the optimiser option momentum (rank 0: 0.9, rank 1: 0.5)") !=
          std::string::npos);
  }
  {
    Net net(local_batch);
    agd::AGD<Net> optimizer(net, {.gain = one ? 0.5 : 1.0, .seed = 3});
    const std::string message =
        refusal(net, optimizer, quiet(), "fit trained with different gains");
    INFO(message);
    CHECK(message.find("the optimiser option gain (rank 0: 1, rank 1: 0.5)") != std::string::npos);
  }
  {
    Net net(local_batch);
    agd::Adam<Net> optimizer(net, {.lr = 1e-3, .beta2 = one ? 0.99 : 0.999, .seed = 3});
    const std::string message = refusal(net, optimizer, quiet(), "fit trained with other betas");
    INFO(message);
    CHECK(message.find("the optimiser option beta2 (rank 0: 0.999, rank 1: 0.99)") !=
          std::string::npos);
  }
  {
    // The optimisers themselves, by name.
    Net net(local_batch);
    agd::AGD<Net> agd_optimizer(net, {.seed = 3});
    agd::SGD<Net> sgd_optimizer(net, {.lr = 0.1});
    const std::vector<float> before = net.weights_to_host();
    const std::string message = error_message<std::invalid_argument>(
        [&] {
          if (one)
            agd::train::fit(net, sgd_optimizer, agd::MSELoss{}, train_set, test_set, quiet());
          else
            agd::train::fit(net, agd_optimizer, agd::MSELoss{}, train_set, test_set, quiet());
        },
        "fit trained with AGD on one rank and SGD on the other");
    INFO(message);
    CHECK(message.find("the optimiser (rank 0: agd, rank 1: sgd)") != std::string::npos);
    CHECK(net.weights_to_host() == before);
  }
  {
    // fit's own settings: every one that differs is named with both values.
    Net net(local_batch);
    agd::AGD<Net> optimizer(net, {.seed = 3});
    agd::train::fit_options options = quiet();
    options.epochs = one ? 3 : 2;
    options.seed = one ? 12 : 11;
    options.max_steps_per_epoch = one ? 3 : 2;
    options.checkpoint_every_steps = one ? 5 : 0;
    options.distributed.overlap = !one;
    const std::string message = refusal(net, optimizer, options, "fit trained with other settings",
                                        /*cross_entropy_on_rank_1=*/true);
    INFO(message);
    for (const char* part :
         {"the seed (rank 0: 11, rank 1: 12)", "the epochs (rank 0: 2, rank 1: 3)",
          "the max_steps_per_epoch (rank 0: 2, rank 1: 3)",
          "the checkpoint_every_steps (rank 0: 0, rank 1: 5)",
          "the overlap (rank 0: true, rank 1: false)", "the loss (rank 0: mse, rank 1: xent)"})
      CHECK(message.find(part) != std::string::npos);
    CHECK(message.find("the optimiser option") == std::string::npos);
  }
  {
    // A stop request on one rank only: the ranks could not agree when to stop.
    Net net(local_batch);
    agd::AGD<Net> optimizer(net, {.seed = 3});
    agd::train::stop_request stop;
    agd::train::fit_options options = quiet();
    if (one) options.stop = &stop;
    const std::string message =
        refusal(net, optimizer, options, "fit trained with a stop request on one rank only");
    INFO(message);
    CHECK(message.find("the stop request (rank 0: none, rank 1: given)") != std::string::npos);
  }
}

TEST_CASE("a stop asked for on one rank stops every rank after the same step, rank 0 saving",
          "[stop]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  const auto train_set = make_data(4096, 1), test_set = make_data(1000, 2);
  Net net(local_batch);
  agd::Adam<Net> optimizer(net, {.lr = 1e-3, .seed = 3});
  agd::train::fit_options options;
  options.epochs = 2;
  options.max_steps_per_epoch = 10;
  options.seed = 11;
  options.log = nullptr;
  options.distributed.comm = w.all;
  agd::train::stop_request stop;
  options.stop = &stop;
  std::size_t last_step = 0;
  options.on_step = [&](std::size_t step, double, double) {
    last_step = step;
    if (step == 13 && w.rank == 1) stop.request();  // e.g. a signal that reached rank 1 alone
  };
  std::vector<std::size_t> saved_at;
  options.on_checkpoint = [&](const agd::train::training_position& p) {
    saved_at.push_back(p.global_step);
  };
  const auto history =
      agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options);
  INFO("rank " << w.rank);
  // Rank 1 asked after step 13's sums; the ranks learn of it with step 14's, and both stop there.
  CHECK(last_step == 14);
  CHECK(history.size() == 1);
  // Rank 0 alone saves: after epoch 1, and at the stop.
  CHECK(saved_at == (w.rank == 0 ? std::vector<std::size_t>{10, 14} : std::vector<std::size_t>{}));
  // Both ranks hold the same weights (the other's, sent over as a sum minus its own).
  std::vector<float> weights = net.weights_to_host();
  std::vector<double> summed(weights.begin(), weights.end());
  w.all->sum_on_host(summed);
  std::size_t different = 0;
  for (std::size_t i = 0; i < weights.size(); ++i)
    different += summed[i] != 2.0 * double(weights[i]);
  CHECK(different == 0);
}

// Run only by the ctest scripts that expect the job to fail (hidden tags).

TEST_CASE("a rank killed mid-run stops the others", "[.killed]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  const auto train_set = make_data(8192, 1), test_set = make_data(200, 2);
  Net net(local_batch);
  agd::AGD<Net> optimizer(net, {.seed = 3});
  agd::train::fit_options options;
  options.log = nullptr;
  options.epochs = 50;
  options.distributed.comm = w.all;
  options.on_step = [&](std::size_t step, double, double) {
    if (step == 5 && w.rank == 1) std::raise(SIGKILL);
  };
  agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options);
  FAIL("rank " << w.rank << " finished training although rank 1 was killed");
}

TEST_CASE("a rank that hangs makes the others stop after the timeout", "[.hung]") {
  const world& w = the_world();
  REQUIRE(w.size == 2);
  agd::distributed::mpi_communicator impatient(MPI_COMM_WORLD,
                                               {.timeout = std::chrono::seconds(3)});
  const auto train_set = make_data(8192, 1), test_set = make_data(200, 2);
  Net net(local_batch);
  agd::AGD<Net> optimizer(net, {.seed = 3});
  agd::train::fit_options options;
  options.log = nullptr;
  options.epochs = 50;
  options.distributed.comm = &impatient;
  options.on_step = [&](std::size_t step, double, double) {
    if (step == 5 && w.rank == 1) std::this_thread::sleep_for(std::chrono::seconds(120));
  };
  agd::train::fit(net, optimizer, agd::MSELoss{}, train_set, test_set, options);
  FAIL("rank " << w.rank << " finished training although rank 1 hung");
}

int main(int argc, char** argv) {
  agd::distributed::mpi_session mpi(argc, argv);
  agd::distributed::mpi_communicator all;
  the_world() = {&all, all.rank(), all.size()};
  // The ranks share the machine's cores: one thread each.
  agd::set_threads(1);
  return Catch::Session().run(argc, argv);
}
