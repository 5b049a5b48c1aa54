// Every public entry point that takes matrices, spans or data sets refuses a wrong shape before it
// reads or writes anything, with a message that names the function and both shapes (what it was
// given and what it needed). The losses' own checks are in test_gradients.cpp ("the loss API
// refuses wrong shapes"); the network's forward and backward in test_network.cpp.
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace {

using Net = agd::basic_sequential<double, agd::Dense<6, 5>, agd::Relu, agd::Dense<5, 3>>;

/// A data set of `samples` samples of `features` inputs, labels 0, 1, 2, 0, ...
agd::data::dataset small_dataset(Eigen::Index features, std::size_t samples) {
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Random(features, Eigen::Index(samples));
  for (std::size_t j = 0; j < samples; ++j) data.labels.push_back(std::int32_t(j % 3));
  data.classes = 3;
  return data;
}

}  // namespace

TEST_CASE("shapes: the network's batch interface names the function and both shapes",
          "[shapes][network]") {
  Net net(8);
  const std::vector<std::int32_t> three_labels{0, 1, 2};
  CHECK_THROWS_WITH(net.load_batch(agd::matrix<double>::Zero(6, 4), three_labels),
                    Catch::Contains("agd::Sequential::load_batch: 3 labels for 4 samples"));
  CHECK_THROWS_WITH(net.load_batch(agd::matrix<double>::Zero(7, 3), three_labels),
                    Catch::Contains("agd::Sequential::load_batch: inputs have 7 rows but the "
                                    "network expects 6"));
  const std::vector<double> too_few(Net::parameter_count - 1, 0.0);
  CHECK_THROWS_WITH(net.weights_from_host(too_few),
                    Catch::Contains("agd::Sequential::weights_from_host: 44 values given for 45 "
                                    "parameters"));
}

TEST_CASE("shapes: predict and predict_probabilities name the function and both sizes",
          "[shapes][predict]") {
  Net net(4);
  const agd::matrix<double> seven_rows = agd::matrix<double>::Zero(7, 9);
  CHECK_THROWS_WITH(agd::predict(net, seven_rows),
                    Catch::Contains("agd::predict: the inputs have 7 rows but the network takes 6 "
                                    "inputs per sample"));
  CHECK_THROWS_WITH(agd::predict_probabilities(net, seven_rows),
                    Catch::Contains("agd::predict_probabilities: the inputs have 7 rows but the "
                                    "network takes 6 inputs per sample"));
  // Any number of columns is fine, in chunks of the capacity.
  CHECK(agd::predict(net, agd::matrix<double>::Zero(6, 9)).size() == 9);
}

TEST_CASE("shapes: evaluate and train_step name the function and both sizes", "[shapes][train]") {
  Net net(4);
  CHECK_THROWS_WITH(agd::evaluate(net, agd::MSELoss{}, small_dataset(5, 10)),
                    Catch::Contains("agd::train::evaluate: the data set has 5 inputs per sample "
                                    "but the network expects 6"));
  auto ragged = small_dataset(6, 10);
  ragged.labels.pop_back();
  CHECK_THROWS_WITH(agd::evaluate(net, agd::MSELoss{}, ragged),
                    Catch::Contains("agd::train::evaluate: the data set has 10 input columns but "
                                    "9 labels"));
  agd::SGD optimizer(net, {.lr = 0.1});
  const std::vector<std::int32_t> five_labels{0, 1, 2, 0, 1};
  net.input_buffer().setZero();
  CHECK_THROWS_WITH(agd::train::train_step<agd::MSELoss>(
                        net, optimizer, std::span<const std::int32_t>(five_labels)),
                    Catch::Contains("agd::train::train_step: a batch of 5 labels does not fit the "
                                    "batch capacity 4"));
}

TEST_CASE("shapes: gather_batch names the function and both sizes", "[shapes][data]") {
  const auto data = small_dataset(4, 10);
  const std::array<std::size_t, 3> indices{0, 5, 9};
  std::array<std::int32_t, 3> labels{};
  Eigen::MatrixXf three_rows(3, 3), two_columns(4, 2), inputs(4, 3);
  CHECK_THROWS_WITH(agd::data::gather_batch(data, indices, three_rows, labels),
                    Catch::Contains("gather_batch: batch matrix has 3 rows but samples have 4 "
                                    "inputs"));
  CHECK_THROWS_WITH(agd::data::gather_batch(data, indices, two_columns, labels),
                    Catch::Contains("gather_batch: batch matrix has 2 columns but 3 samples were "
                                    "requested"));
  std::array<std::int32_t, 2> two_labels{};
  CHECK_THROWS_WITH(agd::data::gather_batch(data, indices, inputs, two_labels),
                    Catch::Contains("gather_batch: label buffer holds 2 but 3 samples were "
                                    "requested"));
  agd::data::gather_batch(data, indices, inputs, labels);
  CHECK(inputs.col(1) == data.inputs.col(5));
  CHECK(labels == std::array<std::int32_t, 3>{0, 2, 0});
}

TEST_CASE("shapes: the data's apply functions name the function and both sizes", "[shapes][data]") {
  // Per-channel standardisation of 3 planes: 7 rows do not split into them.
  auto seven_rows = small_dataset(7, 4);
  const agd::data::channel_standardisation stats{};
  CHECK_THROWS_WITH(agd::data::apply(stats, seven_rows),
                    Catch::Contains("apply(channel_standardisation): inputs of 7 rows do not "
                                    "split into 3 equal channel planes"));
  const auto preprocessing =
      agd::data::preprocessing{agd::data::preprocessing::method::standardise, {0, 0, 0}, {1, 1, 1}};
  CHECK_THROWS_WITH(preprocessing.apply(seven_rows),
                    Catch::Contains("agd::data::preprocessing: inputs of 7 rows do not split into "
                                    "the 3 channel planes"));
  CHECK(seven_rows.inputs.allFinite());  // nothing was changed

  agd::data::crop_flip_augmenter augmenter(1, 2, 3, 1, 5);
  Eigen::MatrixXf five_rows(5, 4), six_rows(6, 4);
  CHECK_THROWS_WITH(augmenter.apply(five_rows, 4),
                    Catch::Contains("crop_flip_augmenter::apply: batch has 5 rows but images of "
                                    "1x2x3 have 6"));
  CHECK_THROWS_WITH(augmenter.apply(six_rows, 5),
                    Catch::Contains("crop_flip_augmenter::apply: 5 columns requested but the "
                                    "batch has 4"));
}

TEST_CASE("shapes: the baselines' state tensors name the function and the tensor",
          "[shapes][baselines]") {
  Net net(4);
  agd::Adam adam(net);
  CHECK(adam.first_moment(1).rows() == 3);
  CHECK(adam.first_moment(1).cols() == 5);
  CHECK_THROWS_WITH(adam.first_moment(2),
                    Catch::Contains("agd::Adam::first_moment: no tensor 2; the network has 2 "
                                    "weight tensors, 0 to 1"));
  CHECK_THROWS_WITH(adam.second_moment(7),
                    Catch::Contains("agd::Adam::second_moment: no tensor 7"));
  agd::SGD with_momentum(net, {.lr = 0.1, .momentum = 0.9});
  CHECK(with_momentum.velocity(0).rows() == 5);
  CHECK_THROWS_WITH(with_momentum.velocity(2),
                    Catch::Contains("agd::SGD::velocity: no tensor 2; the network has 2"));
  // Without momentum there is no buffer to view.
  agd::SGD plain(net, {.lr = 0.1});
  CHECK_THROWS_WITH(plain.velocity(0),
                    Catch::Contains("agd::SGD::velocity: momentum is 0, so SGD keeps no velocity"));
}
