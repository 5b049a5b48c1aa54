// Training on a slice of the real Fashion-MNIST (the tests skip, saying so, where it is absent).
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include "fashion_mnist_data.hpp"
#include "scratch_dir.hpp"
#include "skip.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

using agd_test::have_fashion_mnist;

/// The first `train_count` training and `test_count` test images, standardised as the official
/// code does.
std::pair<agd::data::dataset, agd::data::dataset> fashion_slice(std::size_t train_count,
                                                                std::size_t test_count) {
  auto train = agd::data::load_mnist_format(agd_test::fashion_mnist_dir(), agd::data::split::train);
  auto test = agd::data::load_mnist_format(agd_test::fashion_mnist_dir(), agd::data::split::test);
  const auto statistics = agd::data::compute_standardisation(train);
  auto train_slice = agd::data::take(train, 0, train_count);
  auto test_slice = agd::data::take(test, 0, test_count);
  agd::data::apply(statistics, train_slice);
  agd::data::apply(statistics, test_slice);
  return {std::move(train_slice), std::move(test_slice)};
}

}  // namespace

TEST_CASE("training: AGD lowers the loss on a slice of Fashion-MNIST", "[training]") {
  if (!have_fashion_mnist())
    return agd_test::skip("Fashion-MNIST not found in " + agd_test::fashion_mnist_dir().string() +
                          " (apt-get install dataset-fashion-mnist)");
  const auto [train, test] = fashion_slice(4096, 2000);
  using Net = agd::FCN<784, 128, 10, 3>;
  Net net(128);
  agd::AGD optimizer(net, {.seed = 1});
  const double initial_loss = agd::train::evaluate(net, agd::MSELoss{}, train).loss;
  const agd_test::scratch_dir dir;
  const std::filesystem::path csv = dir.path / "training.csv";
  std::ostringstream log;
  agd::train::fit_options options;
  options.epochs = 3;
  options.seed = 2;
  options.csv = csv;
  options.log = &log;
  const auto history = agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options);

  REQUIRE(history.size() == 3);
  CHECK(history[0].steps == 4096 / 128);
  // A network that outputs zeros has MSE 1 (targets of norm sqrt(10) spread over 10 outputs);
  // three epochs of AGD on 4096 images take it far below that, and below where it started.
  CHECK(history.back().train_loss < 0.5 * initial_loss);
  CHECK(history.back().train_loss < history.front().train_loss);
  CHECK(history.back().test_accuracy > 0.70);
  CHECK(history.back().mean_eta > 0.0);
  CHECK(history.back().min_eta <= history.back().mean_eta);

  // The CSV holds the header and one row per epoch.
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  CHECK(line == "epoch,train_loss,train_acc,test_acc,mean_eta,step_ms");
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  CHECK(rows == 3);
  // Plain progress lines (not a terminal) and one summary per epoch.
  CHECK_THAT(log.str(), Catch::Contains("epoch 3: train loss"));
}

TEST_CASE("training: without the sqrt(2) gain a 32-layer network's eta collapses", "[training]") {
  if (!have_fashion_mnist())
    return agd_test::skip("Fashion-MNIST not found in " + agd_test::fashion_mnist_dir().string());
  const auto [train, test] = fashion_slice(1024, 256);
  agd::train::fit_options options;
  options.max_steps_per_epoch = 4;
  options.log = nullptr;
  using Scaled = agd::FCN<784, 64, 10, 32, agd::Sqrt2Relu>;
  using Plain = agd::FCN<784, 64, 10, 32, agd::Relu>;
  Scaled scaled(128);
  Plain plain(128);
  agd::AGD a(scaled, {.seed = 3});
  agd::AGD b(plain, {.seed = 3});
  const double eta_scaled =
      agd::train::fit(scaled, a, agd::MSELoss{}, train, test, options).back().mean_eta;
  const double eta_plain =
      agd::train::fit(plain, b, agd::MSELoss{}, train, test, options).back().mean_eta;
  CHECK(eta_scaled > 0.01);
  CHECK(eta_plain < 1e-3);
}

TEST_CASE("training: the same seeds give the same run", "[training]") {
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Random(20, 256);
  data.labels.resize(256);
  for (std::size_t j = 0; j < 256; ++j) data.labels[j] = std::int32_t(j % 10);
  using Net = agd::FCN<20, 32, 10, 3>;
  agd::train::fit_options options;
  options.epochs = 2;
  options.seed = 9;
  options.log = nullptr;
  Net a(32), b(32);
  agd::AGD oa(a, {.seed = 4}), ob(b, {.seed = 4});
  const auto ha = agd::train::fit(a, oa, agd::SquareLoss{}, data, data, options);
  const auto hb = agd::train::fit(b, ob, agd::SquareLoss{}, data, data, options);
  CHECK(ha.back().train_loss == hb.back().train_loss);
  for (std::size_t k = 0; k < Net::depth; ++k) CHECK(a.weight(k) == b.weight(k));
}

TEST_CASE("training: mismatched data is rejected before any step", "[training]") {
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Zero(21, 64);
  data.labels.assign(64, 0);
  using Net = agd::FCN<20, 32, 10, 2>;
  Net net(32);
  agd::AGD optimizer(net);
  agd::train::fit_options options;
  options.log = nullptr;
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("21 inputs per sample but the network expects 20"));
}

TEST_CASE("training: a NaN input or an overflowing loss stops the step, weights unchanged",
          "[training][errors]") {
  using Net = agd::FCN<6, 8, 3, 2>;
  Net net(4);
  agd::AGD optimizer(net, {.seed = 1});
  const agd::matrix<float> w0 = net.weight(0), w1 = net.weight(1);
  const std::vector<std::int32_t> labels{0, 1, 2, 0};
  net.input_buffer().setOnes();
  net.input_buffer()(5, 2) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(agd::train::train_step<agd::MSELoss>(net, optimizer, labels),
                    Catch::Contains("input 5 of sample 2 in the batch is nan"));

  net.input_buffer().setConstant(3e38f);  // the output overflows to inf
  CHECK_THROWS_WITH(
      agd::train::train_step<agd::MSELoss>(net, optimizer, labels),
      Catch::Contains("the mse loss is inf") && Catch::Contains("no weight was changed"));
  CHECK(net.weight(0) == w0);
  CHECK(net.weight(1) == w1);

  net.input_buffer().setOnes();
  CHECK_NOTHROW(agd::train::train_step<agd::MSELoss>(net, optimizer, labels));
  CHECK(net.weight(0) != w0);
}

TEST_CASE("training: a run resumed mid-epoch continues bit for bit", "[training][resume]") {
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Random(20, 300);
  data.labels.resize(300);
  for (std::size_t j = 0; j < 300; ++j) data.labels[j] = std::int32_t((j * 7) % 10);
  using Net = agd::FCN<20, 32, 10, 3>;
  const agd_test::scratch_dir dir;
  agd::train::fit_options options;
  options.epochs = 3;
  options.seed = 5;
  options.log = nullptr;
  options.csv = dir.path / "run.csv";
  options.checkpoint_every_steps = 4;

  // The uninterrupted run; keep the state at the checkpoint after global step 12 (epoch 2, whose
  // 9 steps per epoch put it at step 3 of that epoch).
  Net a(32);
  agd::AGD oa(a, {.seed = 8});
  std::optional<agd::train::training_position> saved;
  std::array<agd::matrix<float>, Net::depth> saved_weights;
  options.on_checkpoint = [&](const agd::train::training_position& p) {
    if (p.global_step == 12) {
      saved = agd::train::training_position::from_metadata(p.to_metadata());  // via text
      for (std::size_t k = 0; k < Net::depth; ++k) saved_weights[k] = a.weight(k);
    }
  };
  const auto full = agd::train::fit(a, oa, agd::MSELoss{}, data, data, options);
  REQUIRE(saved);
  CHECK(saved->epoch == 2);
  CHECK(saved->step_in_epoch == 3);

  // A fresh process would load these from a checkpoint; here they are copied.
  Net b(32);
  agd::AGD ob(b, {});
  for (std::size_t k = 0; k < Net::depth; ++k) b.weight(k) = saved_weights[k];
  options.on_checkpoint = nullptr;
  options.resume = saved;
  const auto resumed = agd::train::fit(b, ob, agd::MSELoss{}, data, data, options);

  REQUIRE(resumed.size() == 2);  // epochs 2 and 3
  for (std::size_t k = 0; k < Net::depth; ++k) CHECK(a.weight(k) == b.weight(k));
  CHECK(resumed[0].train_loss == full[1].train_loss);
  CHECK(resumed[0].train_accuracy == full[1].train_accuracy);
  CHECK(resumed[0].mean_eta == full[1].mean_eta);
  CHECK(resumed[1].test_accuracy == full[2].test_accuracy);
  // The CSV of the resumed run still has epoch 1's row, and one row per epoch.
  std::ifstream in(*options.csv);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].rfind("1,", 0) == 0);
  CHECK(rows[3].rfind("3,", 0) == 0);
}
