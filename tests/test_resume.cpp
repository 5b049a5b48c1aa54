// agd::train::fit's guards: positions read from a checkpoint are checked entry by entry; a run is
// not resumed past its last epoch or with other settings; bad labels and unwritable CSV paths
// are found before the first step. SGD stands in for any optimiser (it compiles quickly).
#include <agd/data/dataset.hpp>
#include <agd/layers/dense.hpp>
#include <agd/layers/relu.hpp>
#include <agd/loss/cross_entropy.hpp>
#include <agd/loss/mse_loss.hpp>
#include <agd/optim/sgd.hpp>
#include <agd/sequential.hpp>
#include <agd/train/fit.hpp>
#include <agd/train/position.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scratch_dir.hpp"

namespace {

using Net = agd::Sequential<agd::Dense<6, 8>, agd::Sqrt2Relu, agd::Dense<8, 3>>;

agd::data::dataset samples(std::size_t count) {
  agd::data::dataset data;
  data.classes = 3;
  data.inputs = Eigen::MatrixXf::Random(6, Eigen::Index(count));
  for (std::size_t j = 0; j < count; ++j) data.labels.push_back(std::int32_t(j % 3));
  return data;
}

agd::train::fit_options quiet(std::size_t epochs) {
  agd::train::fit_options options;
  options.epochs = epochs;
  options.log = nullptr;
  return options;
}

/// The position fit hands on_checkpoint after global step `step` of a 2-epoch run.
agd::train::training_position position_after(std::size_t step, const agd::data::dataset& data) {
  Net net(4);
  agd::SGD<Net> optimizer(net, {.seed = 1});
  auto options = quiet(2);
  options.checkpoint_every_steps = 1;
  std::optional<agd::train::training_position> found;
  options.on_checkpoint = [&](const agd::train::training_position& p) {
    if (p.global_step == step && !found) found = p;
  };
  agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options);
  REQUIRE(found);
  return *found;
}

}  // namespace

TEST_CASE("resume: garbled, negative or inconsistent position entries are refused by name",
          "[resume]") {
  const auto data = samples(20);
  const auto good = position_after(7, data).to_metadata();  // epoch 2, step 2 of 5
  REQUIRE(good.at("train.epoch") == "2");
  REQUIRE(good.at("train.batch_size") == "4");
  CHECK_NOTHROW(agd::train::training_position::from_metadata(good));

  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases{
      {{{"train.epoch", "-1"}}, "'train.epoch' is \"-1\", not a non-negative integer"},
      {{{"train.epoch", "2x"}}, "'train.epoch' is \"2x\""},
      {{{"train.epoch", ""}}, "'train.epoch' is \"\""},
      {{{"train.epoch", "99999999999999999999999"}}, "below 2^64"},
      {{{"train.epoch", "0"}}, "'train.epoch' is 0"},
      {{{"train.seen", "abc"}}, "'train.seen' is \"abc\""},
      {{{"train.seen", "9"}}, "'train.seen' (9) is not 2 steps of 4 samples"},
      {{{"train.correct", "100"}}, "'train.correct' (100) exceeds 'train.seen' (8)"},
      {{{"train.global_step", "1"}}, "'train.global_step' (1) is below 'train.step_in_epoch' (2)"},
      {{{"train.loss_sum", "0x1p+3 junk"}}, "'train.loss_sum' is \"0x1p+3 junk\", not a finite"},
      {{{"train.loss_sum", "nan"}}, "'train.loss_sum' is \"nan\""},
      {{{"train.eta_sum", "inf"}}, "'train.eta_sum' is \"inf\", not a finite number"},
      {{{"train.min_eta", "inf"}}, "mid-epoch, 'train.min_eta' and 'train.max_eta' must be finite"},
      {{{"train.step_in_epoch", "6"}}, "exceeds 'train.steps_per_epoch' (5)"},
      {{{"train.batch_size", "0"}}, "'train.batch_size' is 0"},
      {{{"train.seed", "-3"}}, "'train.seed' is \"-3\""},
  };
  for (const auto& [changes, message] : cases) {
    auto metadata = good;
    for (const auto& [key, value] : changes) metadata[key] = value;
    INFO(changes.begin()->first << " = " << changes.begin()->second);
    CHECK_THROWS_WITH(agd::train::training_position::from_metadata(metadata),
                      Catch::Contains(message) && Catch::Contains("the checkpoint is corrupt"));
  }
  auto missing = good;
  missing.erase("train.step_in_epoch");
  CHECK_THROWS_WITH(agd::train::training_position::from_metadata(missing),
                    Catch::Contains("no 'train.step_in_epoch' entry"));
  // Checkpoints written before the run's settings were saved still load.
  auto older = good;
  for (const char* key : {"train.seed", "train.batch_size", "train.steps_per_epoch",
                          "train.training_samples", "train.loss"})
    older.erase(key);
  const auto legacy = agd::train::training_position::from_metadata(older);
  CHECK(!legacy.batch_size);
  CHECK(legacy.step_in_epoch == 2);
}

TEST_CASE("resume: a run at or past its last epoch is refused, not run or crashed", "[resume]") {
  const auto data = samples(20);
  Net net(4);
  agd::SGD<Net> optimizer(net, {.seed = 1});
  auto options = quiet(2);
  std::optional<agd::train::training_position> last;
  options.on_checkpoint = [&](const agd::train::training_position& p) { last = p; };
  REQUIRE(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 2);
  REQUIRE(last->epoch == 3);
  REQUIRE(last->step_in_epoch == 0);

  options.on_checkpoint = nullptr;
  options.resume = last;  // the finished run, run again
  std::size_t steps = 0;
  options.on_step = [&](std::size_t, double, double) { ++steps; };
  CHECK_THROWS_WITH(
      agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
      Catch::Contains("the run stands at epoch 3 (not begun) but options.epochs is 2, so it is "
                      "complete"));
  auto beyond = *last;
  beyond.epoch = 5;
  options.resume = beyond;
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("ask for at least 5 epochs"));
  CHECK(steps == 0);
  options.epochs = 3;  // asking for more continues it
  options.resume = last;
  CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 1);
  CHECK(steps == 5);
}

TEST_CASE("resume: another seed, batch size, data set or loss is refused, naming each",
          "[resume]") {
  const auto data = samples(20);
  const auto saved = position_after(7, data);
  CHECK(saved.seed == 0u);
  CHECK(saved.steps_per_epoch == 5u);
  CHECK(saved.training_samples == 20u);
  CHECK(saved.loss == "mse");

  Net net(4);
  agd::SGD<Net> optimizer(net, {.seed = 1});
  auto options = quiet(2);
  options.resume = saved;
  options.seed = 9;
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::CrossEntropyLoss{}, data, data, options),
                    Catch::Contains("the run was saved with seed 0 (now 9), loss mse (now xent)"));
  options.seed = 0;
  Net wider(5);
  agd::SGD<Net> wider_optimizer(wider, {.seed = 1});
  CHECK_THROWS_WITH(agd::train::fit(wider, wider_optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("batch size 4 (now 5), steps per epoch 5 (now 4)"));
  const auto more = samples(24);
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, more, more, options),
                    Catch::Contains("training set size 20 (now 24), steps per epoch 5 (now 6)"));
  // The same settings resume.
  CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 1);
}

TEST_CASE("fit: a bad label is named by its sample's index in the data set, before any step",
          "[training][errors]") {
  auto train = samples(40);
  auto test = samples(10);
  train.labels[37] = 12;
  Net net(4);
  agd::SGD<Net> optimizer(net, {.seed = 1});
  const Net before = net;
  auto options = quiet(1);
  std::size_t steps = 0;
  options.on_step = [&](std::size_t, double, double) { ++steps; };
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options),
                    Catch::StartsWith("agd::train::fit: the training set: the label of sample 37 "
                                      "is 12, outside 0..2 (the network has 3 outputs"));
  train.labels[37] = 1;
  test.labels[4] = -1;
  CHECK_THROWS_WITH(
      agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options),
      Catch::StartsWith("agd::train::fit: the test set: the label of sample 4 is -1"));
  CHECK(steps == 0);
  for (std::size_t k = 0; k < Net::depth; ++k) CHECK(net.weight(k) == before.weight(k));
  CHECK_THROWS_WITH(agd::train::evaluate(net, agd::MSELoss{}, test),
                    Catch::Contains("the label of sample 4 is -1"));
}

TEST_CASE("fit: an unwritable CSV path is found before the first step", "[training][errors]") {
  const auto data = samples(20);
  agd_test::scratch_dir dir("agd_resume");
  Net net(4);
  agd::SGD<Net> optimizer(net, {.seed = 1});
  auto options = quiet(1);
  std::size_t steps = 0;
  options.on_step = [&](std::size_t, double, double) { ++steps; };
  options.csv = dir.path / "no" / "such" / "run.csv";
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("does not exist"));
  options.csv = dir.path;
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("is a directory"));
  CHECK(steps == 0);
  options.csv = dir.path / "run.csv";
  CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 1);
  CHECK(steps == 5);
}
