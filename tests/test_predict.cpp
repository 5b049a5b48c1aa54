// Using a trained model and data of one's own: agd::predict, predict_probabilities and evaluate;
// save_weights with the input preprocessing, reloaded to classify raw inputs; no checkpoint
// ever written with NaN or Inf weights; the CSV and row-major array loaders. Weights are set
// from a seeded generator (no optimiser needed), which keeps this file quick to compile.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;
using Net = agd::Sequential<agd::Dense<6, 16>, agd::Sqrt2Relu, agd::Dense<16, 4>>;

void set_weights(Net& net, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> gaussian(0.0f, 0.5f);
  for (std::size_t k = 0; k < Net::depth; ++k)
    for (Eigen::Index i = 0; i < net.weight(k).size(); ++i) net.weight(k).data()[i] = gaussian(rng);
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

/// The arg-max of each column of the network's output, computed one sample at a time.
std::vector<std::int32_t> one_by_one(Net& net, const Eigen::MatrixXf& inputs) {
  std::vector<std::int32_t> classes;
  for (Eigen::Index j = 0; j < inputs.cols(); ++j) {
    Eigen::Index best = 0;
    net.forward(inputs.col(j)).col(0).maxCoeff(&best);
    classes.push_back(std::int32_t(best));
  }
  return classes;
}

}  // namespace

TEST_CASE("predict: classes and probabilities of any number of samples, in chunks", "[predict]") {
  Net net(8);  // 21 samples: chunks of 8, 8 and 5
  set_weights(net, 3);
  const Eigen::MatrixXf inputs = Eigen::MatrixXf::Random(6, 21);
  const std::vector<std::int32_t> classes = agd::predict(net, inputs);
  REQUIRE(classes.size() == 21);
  CHECK(classes == one_by_one(net, inputs));
  CHECK(std::set<std::int32_t>(classes.begin(), classes.end()).size() > 1);

  const agd::matrix<float> p = agd::predict_probabilities(net, inputs);
  REQUIRE(p.rows() == 4);
  REQUIRE(p.cols() == 21);
  for (Eigen::Index j = 0; j < p.cols(); ++j) {
    CHECK(p.col(j).sum() == Approx(1.0f).epsilon(1e-5));
    CHECK(p.col(j).minCoeff() > 0.0f);
    Eigen::Index best = 0;
    p.col(j).maxCoeff(&best);
    CHECK(best == classes[std::size_t(j)]);
  }
  // Softmax of the logits: the log-ratio of two probabilities is the difference of outputs.
  const auto output = net.forward(inputs.col(5));
  CHECK(std::log(p(1, 5) / p(2, 5)) == Approx(output(1, 0) - output(2, 0)).margin(1e-4));

  // A single sample is a one-column matrix.
  CHECK(agd::predict(net, inputs.col(7)) == std::vector<std::int32_t>{classes[7]});
  CHECK(agd::predict(net, Eigen::MatrixXf(6, 0)).empty());

  CHECK_THROWS_WITH(agd::predict(net, Eigen::MatrixXf::Zero(7, 3)),
                    Catch::Contains("the inputs have 7 rows but the network takes 6 inputs"));
  Eigen::MatrixXf bad = inputs;
  bad(2, 13) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(agd::predict(net, bad), agd::non_finite_error);
  CHECK_THROWS_WITH(agd::predict(net, bad), Catch::Contains("input 2 of sample 13 is nan"));
}

TEST_CASE("predict: agd::evaluate is the accuracy of agd::predict on a labelled set", "[predict]") {
  Net net(8);
  set_weights(net, 4);
  agd::data::dataset data;
  data.classes = 4;
  data.inputs = Eigen::MatrixXf::Random(6, 30);
  const auto predicted = agd::predict(net, data.inputs);
  for (std::size_t j = 0; j < 30; ++j)  // two thirds right, one third wrong
    data.labels.push_back(j % 3 == 0 ? (predicted[j] + 1) % 4 : predicted[j]);
  CHECK(agd::predict(net, data) == predicted);
  const agd::evaluation e = agd::evaluate(net, agd::CrossEntropyLoss{}, data);
  CHECK(e.accuracy == Approx(20.0 / 30.0));
  const auto p = agd::predict_probabilities(net, data);
  double cross_entropy = 0;
  for (std::size_t j = 0; j < 30; ++j)
    cross_entropy -= std::log(double(p(data.labels[j], Eigen::Index(j))));
  CHECK(e.loss == Approx(cross_entropy / 30).epsilon(1e-5));
}

TEST_CASE("save_weights: a reloaded model classifies raw inputs with the saved preprocessing",
          "[predict][checkpoint]") {
  agd_test::scratch_dir dir("agd_predict");
  Net net(8);
  set_weights(net, 5);
  const Eigen::MatrixXf raw = (Eigen::MatrixXf::Random(6, 50).array() + 1.0f) * 120.0f;
  agd::data::dataset train;
  train.inputs = raw;
  train.labels.assign(50, 0);

  agd::data::channel_standardisation per_channel;
  per_channel.channels = 2;
  per_channel.mean = {100.0f, 130.0f, 0.0f};
  per_channel.std = {60.0f, 70.0f, 1.0f};
  for (const auto& inputs :
       {agd::data::preprocessing::standardise(agd::data::compute_standardisation(train)),
        agd::data::preprocessing::standardise(agd::data::compute_feature_standardisation(train)),
        agd::data::preprocessing::standardise(per_channel),
        agd::data::preprocessing::scale_to_sqrt_dim(), agd::data::preprocessing{}}) {
    const fs::path file = dir.path / "model.safetensors";
    agd::io::save_weights(file, net, {.step = 12, .preprocessing = inputs});
    Net reloaded(4);  // another batch capacity: it is no part of the model
    const agd::io::checkpoint_info saved = agd::io::load_weights(file, reloaded);
    CHECK(saved.step == 12);
    CHECK(saved.preprocessing == inputs);
    for (std::size_t k = 0; k < Net::depth; ++k) CHECK(reloaded.weight(k) == net.weight(k));
    CHECK(agd::predict(reloaded, saved.preprocessing(raw)) == agd::predict(net, inputs(raw)));
  }
  // The standardisation is stored exactly (9 significant digits round-trip a float).
  const auto standardise =
      agd::data::preprocessing::standardise(agd::data::standardisation{0.28604060f, 0.35302424f});
  CHECK(agd::data::preprocessing::from_metadata(standardise.to_metadata()) == standardise);
  CHECK(standardise.to_metadata().at("agd.inputs.mean") == "0.286040604");

  // A file whose preprocessing entry is garbled is refused as corrupt.
  auto garbled = standardise.to_metadata();
  garbled["agd.inputs.std"] = "0.35,";
  CHECK_THROWS_WITH(agd::data::preprocessing::from_metadata(garbled),
                    Catch::Contains("\"agd.inputs.std\" is \"0.35,\""));
  garbled["agd.inputs.std"] = "-1";
  CHECK_THROWS_WITH(agd::data::preprocessing::from_metadata(garbled),
                    Catch::Contains("cannot standardise"));
  garbled["agd.inputs"] = "whiten";
  CHECK_THROWS_WITH(agd::data::preprocessing::from_metadata(garbled),
                    Catch::Contains("\"agd.inputs\" is \"whiten\""));
}

TEST_CASE("save_weights, save_checkpoint: NaN or Inf weights never replace a good file",
          "[checkpoint][errors]") {
  agd_test::scratch_dir dir("agd_predict");
  const fs::path file = dir.path / "run.safetensors";
  Net net(4);
  set_weights(net, 6);
  agd::SGD<Net> optimizer(net, {.lr = 0.1, .momentum = 0.9});
  agd::io::save_checkpoint(file, net, optimizer, {.step = 1});
  const std::string good = read_file(file);

  net.weight(1)(2, 5) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_AS(agd::io::save_checkpoint(file, net, optimizer, {.step = 2}),
                  agd::io::checkpoint_error);
  CHECK_THROWS_WITH(agd::io::save_checkpoint(file, net, optimizer, {.step = 2}),
                    Catch::Contains("tensor 'layers.2.weight' holds inf at [2, 5]") &&
                        Catch::Contains("the previous file, if any, is unchanged"));
  CHECK_THROWS_WITH(agd::io::save_weights(file, net), Catch::Contains("holds inf at [2, 5]"));
  net.weight(1)(2, 5) = 0.5f;
  optimizer.velocity(0)(3, 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(agd::io::save_checkpoint(file, net, optimizer, {.step = 2}),
                    Catch::Contains("tensor 'optimizer.velocity.0' holds nan at [3, 1]"));
  CHECK(read_file(file) == good);
  Net loaded(4);
  agd::SGD<Net> loaded_optimizer(loaded, {.lr = 0.1, .momentum = 0.9});
  CHECK(agd::io::load_checkpoint(file, loaded, loaded_optimizer).step == 1);
}

TEST_CASE("data: load_csv reads features and a label column, checking every field", "[data][csv]") {
  agd_test::scratch_dir dir("agd_predict");
  const fs::path file = dir.path / "data.csv";
  write_text(file, "sepal,petal , class\r\n5.1,1.4,0\r\n\r\n 4.9 ,-1.5e-1,2\r\n6.0,+4,1\r\n");
  const agd::data::dataset data = agd::data::load_csv(file);
  REQUIRE(data.size() == 3);
  CHECK(data.input_size() == 2);
  CHECK(data.classes == 3);
  CHECK(data.labels == std::vector<std::int32_t>{0, 2, 1});
  CHECK(data.inputs(0, 1) == 4.9f);
  CHECK(data.inputs(1, 1) == -0.15f);
  CHECK(data.inputs(1, 2) == 4.0f);

  write_text(file, "1;7;0.5\n0;8;0.25\n");  // label first, no header, another delimiter
  const auto first =
      agd::data::load_csv(file, {.label_column = 0, .delimiter = ';', .classes = 10});
  CHECK(first.labels == std::vector<std::int32_t>{1, 0});
  CHECK(first.classes == 10);
  CHECK(first.inputs(1, 0) == 0.5f);

  const std::vector<std::pair<std::string, std::string>> bad{
      {"a,b,c\n1,2,0\n3,4\n", "line 3: it has 2 fields but the first line has 3"},
      {"1,2,0\n3,x,1\n", "line 2: column 2 is \"x\", not a number"},
      {"1,2,0\n3,4 5,1\n", "line 2: column 2 is \"4 5\", not a number"},
      {"1,nan,0\n", "line 1: column 2 is \"nan\"; the network can only learn from finite"},
      {"1,2,0\n1,1e39,0\n", "line 2: column 2 is \"1e39\", a number too large for a float"},
      {"1,2,-1\n", "line 1: the label (column 3) is \"-1\", not a class index"},
      {"1,2,1.5\n", "the label (column 3) is \"1.5\""},
      {"a,b,label\n", "it holds no samples"},
      {"", "it holds no samples"},
      {"1\n2\n", "line 1: it has 1 field"},
  };
  for (const auto& [text, message] : bad) {
    INFO(text);
    write_text(file, text);
    CHECK_THROWS_AS(agd::data::load_csv(file), agd::data::dataset_error);
    CHECK_THROWS_WITH(agd::data::load_csv(file),
                      Catch::StartsWith("agd: cannot read CSV file '" + file.string() + "'") &&
                          Catch::Contains(message));
  }
  write_text(file, "1,2,3\n");
  CHECK_THROWS_WITH(agd::data::load_csv(file, {.classes = 3}),
                    Catch::Contains("the label is 3, but there are 3 classes (0..2)"));
  CHECK_THROWS_WITH(agd::data::load_csv(file, {.label_column = 3}),
                    Catch::Contains("label column 3 does not exist in a line of 3 fields"));
  CHECK_THROWS_WITH(agd::data::load_csv(dir.path / "none.csv"), Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(agd::data::load_csv(dir.path), Catch::Contains("is a directory"));
  REQUIRE(::mkfifo((dir.path / "pipe.csv").c_str(), 0600) == 0);
  CHECK_THROWS_WITH(agd::data::load_csv(dir.path / "pipe.csv"), Catch::Contains("FIFO"));
}

TEST_CASE("data: from_row_major copies row-major samples, checking sizes, values and labels",
          "[data]") {
  const std::vector<float> values{1, 2, 3, 4, 5, 6};
  const std::vector<std::int32_t> labels{1, 0};
  const auto data = agd::data::from_row_major(values, 3, labels);
  CHECK(data.size() == 2);
  CHECK(data.input_size() == 3);
  CHECK(data.classes == 2);
  CHECK(data.inputs(2, 0) == 3.0f);
  CHECK(data.inputs(0, 1) == 4.0f);
  CHECK(agd::data::from_row_major(values, 3, labels, 5).classes == 5);

  CHECK_THROWS_WITH(agd::data::from_row_major(values, 4, labels),
                    Catch::Contains("6 values are not 2 samples (one per label) of 4 features"));
  CHECK_THROWS_WITH(agd::data::from_row_major(values, 0, labels),
                    Catch::Contains("at least one feature"));
  CHECK_THROWS_WITH(agd::data::from_row_major(values, 3, {}), Catch::Contains("empty"));
  CHECK_THROWS_WITH(agd::data::from_row_major(values, 3, labels, 1),
                    Catch::Contains("the label of sample 0 is 1, outside 0..0"));
  auto with_inf = values;
  with_inf[4] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(agd::data::from_row_major(with_inf, 3, labels),
                    Catch::Contains("feature 1 of sample 1 is inf"));
}

TEST_CASE("data: a directory or a symbolic link loop in place of a data file is named as such",
          "[data]") {
  agd_test::scratch_dir dir("agd_predict");
  fs::create_directory(dir.path / "train-images-idx3-ubyte");
  CHECK_THROWS_AS(agd::data::load_mnist_format(dir.path, agd::data::split::train),
                  agd::data::dataset_error);
  CHECK_THROWS_WITH(agd::data::load_mnist_format(dir.path, agd::data::split::train),
                    Catch::Contains("train-images-idx3-ubyte' is a directory, not a regular file"));
  fs::remove(dir.path / "train-images-idx3-ubyte");
  fs::create_symlink("train-images-idx3-ubyte.gz", dir.path / "train-images-idx3-ubyte");
  fs::create_symlink("train-images-idx3-ubyte", dir.path / "train-images-idx3-ubyte.gz");
  CHECK_THROWS_WITH(agd::data::load_mnist_format(dir.path, agd::data::split::train),
                    Catch::Contains("is a loop of symbolic links"));
  CHECK_THROWS_WITH(agd::data::load_mnist_format(dir.path / "absent", agd::data::split::train),
                    Catch::Contains("does not exist, so it has neither"));
}

TEST_CASE("data: load_csv loses no sample to a byte-order mark, a bad first line or CR line ends",
          "[data][csv]") {
  agd_test::scratch_dir dir("agd_predict");
  const fs::path file = dir.path / "data.csv";
  // A UTF-8 byte-order mark (as spreadsheet programs write) before a file without a header is
  // skipped: it is not a header, and the first sample is kept.
  write_text(file,
             "\xEF\xBB\xBF"
             "1,2,0\n3,4,1\n");
  const agd::data::dataset marked = agd::data::load_csv(file);
  REQUIRE(marked.size() == 2);
  CHECK(marked.inputs(0, 0) == 1.0f);
  CHECK(marked.labels == std::vector<std::int32_t>{0, 1});
  write_text(file,
             "\xEF\xBB\xBF"
             "a,b,label\n1,2,0\n");
  CHECK(agd::data::load_csv(file).size() == 1);

  // A first line of numbers but for one bad cell is a damaged sample, not a header.
  write_text(file, "1,x,0\n2,3,1\n");
  CHECK_THROWS_AS(agd::data::load_csv(file), agd::data::dataset_error);
  CHECK_THROWS_WITH(agd::data::load_csv(file),
                    Catch::Contains(file.string()) &&
                        Catch::Contains("line 1: column 2 is \"x\", not a number") &&
                        Catch::Contains("csv_options::header"));
  write_text(file, "1,2,x\n");
  CHECK_THROWS_WITH(agd::data::load_csv(file),
                    Catch::Contains("line 1: the label (column 3) is \"x\", not a class index"));

  // Line ends: \n, \r\n and a lone \r (old Mac files), mixed; each ends one line.
  write_text(file, "1,2,0\r3,4,1\r\r5,6,2\r");
  const agd::data::dataset cr = agd::data::load_csv(file);
  REQUIRE(cr.size() == 3);
  CHECK(cr.inputs(1, 2) == 6.0f);
  write_text(file, "a,b,c\r1,2,0\r\n3,4,1\n5,6,2");
  CHECK(agd::data::load_csv(file).size() == 3);
  write_text(file, "1,2,0\r3,4\r");
  CHECK_THROWS_WITH(agd::data::load_csv(file),
                    Catch::Contains("line 2: it has 2 fields but the first line has 3"));
}

TEST_CASE(
    "data: load_csv reads numbers that underflow a float as 0 or a denormal, and refuses "
    "labels past the int range",
    "[data][csv]") {
  agd_test::scratch_dir dir("agd_predict");
  const fs::path file = dir.path / "data.csv";
  write_text(file, "1e-50,-1e-60,0\n1e-40,1e-5000,1\n");
  const agd::data::dataset tiny = agd::data::load_csv(file);
  REQUIRE(tiny.size() == 2);
  CHECK(tiny.inputs(0, 0) == 0.0f);
  CHECK(tiny.inputs(1, 0) == 0.0f);
  CHECK(std::signbit(tiny.inputs(1, 0)));
  CHECK(tiny.inputs(0, 1) > 0.0f);  // a denormal, 1e-40 to 5 digits
  CHECK(tiny.inputs(0, 1) == Approx(1e-40).epsilon(1e-4));
  CHECK(tiny.inputs(1, 1) == 0.0f);
  // Where the first digit stands counts, not only the exponent.
  write_text(file, "0.00001e-41,123456e-60,0\n");
  const agd::data::dataset shifted = agd::data::load_csv(file);
  CHECK(shifted.inputs(0, 0) == 0.0f);
  CHECK(shifted.inputs(1, 0) == 0.0f);
  for (const char* huge :
       {"1e39", "-1e39", "1e5000", "0.001e42", "340282366920938463463374607431768211456"}) {
    INFO(huge);
    write_text(file, "1,2,0\n3," + std::string(huge) + ",1\n");
    CHECK_THROWS_WITH(agd::data::load_csv(file),
                      Catch::Contains("line 2: column 2 is \"" + std::string(huge) + "\"") &&
                          Catch::Contains("too large for a float"));
  }

  // The largest int32 label would make classes overflow (one more than the largest label).
  write_text(file, "1,2,2147483647\n");
  CHECK_THROWS_AS(agd::data::load_csv(file), agd::data::dataset_error);
  CHECK_THROWS_WITH(agd::data::load_csv(file),
                    Catch::Contains("line 1: the label (column 3) is 2147483647") &&
                        Catch::Contains("csv_options::classes"));
  CHECK_THROWS_WITH(agd::data::load_csv(file, {.classes = 5}),
                    Catch::Contains("the label is 2147483647, but there are 5 classes (0..4)"));
  write_text(file, "1,2,99999999999\n");
  CHECK_THROWS_WITH(agd::data::load_csv(file),
                    Catch::Contains("line 1: the label (column 3) is \"99999999999\"") &&
                        Catch::Contains("too large"));
  const std::vector<float> values{1, 2};
  const std::vector<std::int32_t> largest{0, std::numeric_limits<std::int32_t>::max()};
  CHECK_THROWS_AS(agd::data::from_row_major(values, 1, largest), agd::data::dataset_error);
  CHECK_THROWS_WITH(agd::data::from_row_major(values, 1, largest),
                    Catch::Contains("the label of sample 1 is 2147483647"));
}

TEST_CASE("predict: finite inputs that overflow the network are an error, not class 0 or NaN",
          "[predict][errors]") {
  Net net(8);
  set_weights(net, 3);
  Eigen::MatrixXf inputs = Eigen::MatrixXf::Random(6, 12);
  inputs.col(10).setConstant(std::numeric_limits<float>::max());  // finite, but no sum of it is
  CHECK_THROWS_AS(agd::predict(net, inputs), agd::non_finite_error);
  CHECK_THROWS_WITH(agd::predict(net, inputs), Catch::StartsWith("agd::predict: the output") &&
                                                   Catch::Contains("sample 10") &&
                                                   Catch::Contains("preprocess"));
  CHECK_THROWS_AS(agd::predict_probabilities(net, inputs), agd::non_finite_error);
  CHECK_THROWS_WITH(
      agd::predict_probabilities(net, inputs),
      Catch::StartsWith("agd::predict_probabilities: the output") && Catch::Contains("sample 10"));
  // The other samples are fine on their own.
  CHECK(agd::predict(net, inputs.leftCols(10)).size() == 10);
  CHECK(agd::predict_probabilities(net, inputs.leftCols(10)).allFinite());
}

namespace {

/// Four classes, one per quadrant: a Gaussian blob (std 0.45) around (+-1, +-1), so that both
/// features are needed; the second feature is in other units (x 1000, offset 5000).
agd::data::dataset quadrants(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.45f);
  agd::data::dataset data;
  data.classes = 4;
  data.inputs.resize(2, Eigen::Index(count));
  for (std::size_t j = 0; j < count; ++j) {
    const int label = int(j % 4);
    data.inputs(0, Eigen::Index(j)) = (label & 1 ? 1.0f : -1.0f) + noise(rng);
    data.inputs(1, Eigen::Index(j)) = ((label & 2 ? 1.0f : -1.0f) + noise(rng)) * 1000.0f + 5000.0f;
    data.labels.push_back(label);
  }
  return data;
}

/// The test accuracy of a small network trained with AGD for 3 epochs on inputs preprocessed
/// with `inputs`, computed on the training set by `compute`.
template <class Compute>
double quadrant_accuracy(Compute compute) {
  using Small = agd::Sequential<agd::Dense<2, 64>, agd::Sqrt2Relu, agd::Dense<64, 64>,
                                agd::Sqrt2Relu, agd::Dense<64, 4>>;
  agd::data::dataset train = quadrants(400, 1);
  agd::data::dataset test = quadrants(600, 2);
  const agd::data::preprocessing inputs = agd::data::preprocessing::standardise(compute(train));
  inputs.apply(train);
  inputs.apply(test);
  Small net(32);
  agd::AGD optimizer(net, {.seed = 1});
  agd::train::fit_options options;
  options.epochs = 3;
  options.progress = false;
  options.log = nullptr;
  return agd::train::fit(net, optimizer, agd::CrossEntropyLoss{}, train, test, options)
      .back()
      .test_accuracy;
}

}  // namespace

TEST_CASE("data: features in different units train far better standardised one by one",
          "[data][training]") {
  // One mean and std for all inputs leaves the first feature (spread 1 beside 1000) nearly
  // constant, so only the second one's sign is learnt: about half right. Per feature, both
  // are: about 95% (the best possible is 97%). Measured: 48.7% and 94.7%.
  const double global = quadrant_accuracy(
      [](const agd::data::dataset& train) { return agd::data::compute_standardisation(train); });
  const double per_feature = quadrant_accuracy([](const agd::data::dataset& train) {
    return agd::data::compute_feature_standardisation(train);
  });
  INFO("test accuracy: " << global << " one mean and std, " << per_feature << " per feature");
  CHECK(per_feature > 0.85);
  CHECK(global < 0.65);
}

TEST_CASE(
    "checkpoint: a per-feature standardisation round-trips, and a resumed run with "
    "other data is refused",
    "[predict][checkpoint][resume]") {
  agd_test::scratch_dir dir("agd_predict");
  const fs::path file = dir.path / "run.safetensors";
  Net net(4);
  set_weights(net, 8);
  agd::SGD<Net> optimizer(net, {.lr = 0.1});
  agd::data::dataset train;
  train.inputs = Eigen::MatrixXf::Random(6, 40);
  train.inputs.row(2) = train.inputs.row(2) * 1000.0f;
  train.inputs.row(4).array() += 50.0f;
  train.labels.assign(40, 1);
  const auto stats = agd::data::compute_feature_standardisation(train);
  const auto inputs = agd::data::preprocessing::standardise(stats);
  agd::io::save_checkpoint(file, net, optimizer, {.step = 3, .preprocessing = inputs});
  Net loaded(4);
  agd::SGD<Net> loaded_optimizer(loaded, {.lr = 0.1});
  const agd::io::checkpoint_info info = agd::io::load_checkpoint(file, loaded, loaded_optimizer);
  CHECK(info.preprocessing == inputs);  // every float exactly
  CHECK(info.preprocessing.mean == stats.mean);
  CHECK(info.preprocessing.std == stats.std);

  // Resuming with the same training set passes; other data is refused by name, whatever kind
  // of standardisation it differs in.
  const auto same =
      agd::data::preprocessing::standardise(agd::data::compute_feature_standardisation(train));
  CHECK_NOTHROW(agd::data::check_resumed_preprocessing(info.preprocessing, same, file.string()));
  agd::data::dataset other = train;
  other.inputs.row(4).array() += 0.5f;
  const auto shifted =
      agd::data::preprocessing::standardise(agd::data::compute_feature_standardisation(other));
  CHECK_THROWS_AS(
      agd::data::check_resumed_preprocessing(info.preprocessing, shifted, file.string()),
      agd::data::dataset_error);
  CHECK_THROWS_WITH(
      agd::data::check_resumed_preprocessing(info.preprocessing, shifted, file.string()),
      Catch::StartsWith("agd: cannot resume from '" + file.string() + "'") &&
          Catch::Contains("(channel or feature 4)") && Catch::Contains("not the data") &&
          Catch::Contains("checkpoint_info::preprocessing"));
  const auto global =
      agd::data::preprocessing::standardise(agd::data::compute_standardisation(train));
  CHECK_THROWS_WITH(
      agd::data::check_resumed_preprocessing(info.preprocessing, global, file.string()),
      Catch::Contains("6 means and stds") && Catch::Contains("one mean and std for every input"));
  CHECK_THROWS_WITH(
      agd::data::check_resumed_preprocessing(global, agd::data::preprocessing::scale_to_sqrt_dim(),
                                             file.string()),
      Catch::Contains("but the data given now is preprocessed with scale_to_sqrt_dim"));
  CHECK_THROWS_WITH(
      agd::data::check_resumed_preprocessing(
          global, agd::data::preprocessing::standardise(agd::data::standardisation{0.3f, 0.2f}),
          file.string()),
      Catch::Contains("but the training data given now has mean 0.300000012 and std 0.200000003"));
  // The checkpoint's own preprocessing applied to other data resumes (training on other data
  // on purpose); so does a checkpoint that records none.
  CHECK_NOTHROW(
      agd::data::check_resumed_preprocessing(info.preprocessing, info.preprocessing, "f"));
  CHECK_NOTHROW(agd::data::check_resumed_preprocessing(agd::data::preprocessing{}, shifted, "f"));
  auto broken = shifted;
  broken.std.pop_back();
  CHECK_THROWS_WITH(agd::data::check_resumed_preprocessing(info.preprocessing, broken, "f"),
                    Catch::Contains("6 means but 5 stds"));
}
