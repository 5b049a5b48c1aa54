// Your own data: train on a CSV file, save the model with its input preprocessing, reload it and
// classify raw samples. This is the program of docs/getting-started.md ("Your own data"), word
// for word; a test checks that the two stay the same and runs it.
//
//   build/examples/own_data train.csv test.csv model.safetensors
#include <agd/agd.hpp>

#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

// 4 features per sample and 3 classes; each CSV line is "f1,f2,f3,f4,class".
using Net = agd::Sequential<agd::Dense<4, 64>, agd::Sqrt2Relu, agd::Dense<64, 64>, agd::Sqrt2Relu,
                            agd::Dense<64, 3>>;

int main(int argc, char** argv) {
  const char* usage = "usage: own_data TRAIN.csv TEST.csv MODEL.safetensors\n";
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << usage;
    return 0;
  }
  if (argc != 4) {
    std::cerr << usage;
    return 2;
  }
  try {
    // Load the data (the label is the last column) and standardise each feature by the
    // training set: features come in units of their own.
    agd::data::dataset train = agd::data::load_csv(argv[1]);
    const agd::data::dataset raw_test = agd::data::load_csv(argv[2]);
    agd::data::dataset test = raw_test;
    const auto inputs =
        agd::data::preprocessing::standardise(agd::data::compute_feature_standardisation(train));
    inputs.apply(train);
    inputs.apply(test);

    // Train with AGD and cross-entropy, then save the weights with the preprocessing.
    Net net(32);
    agd::AGD optimizer(net, {.seed = 1});
    agd::train::fit_options options;
    options.epochs = 10;
    options.progress = false;
    agd::train::fit(net, optimizer, agd::CrossEntropyLoss{}, train, test, options);
    agd::io::save_weights(argv[3], net, {.preprocessing = inputs});

    // Later, or in another program: reload the model and classify raw samples.
    Net model(32);
    const agd::io::checkpoint_info saved = agd::io::load_weights(argv[3], model);
    const Eigen::MatrixXf ready = saved.preprocessing(raw_test.inputs);
    const std::vector<std::int32_t> classes = agd::predict(model, ready);
    const agd::matrix<float> probabilities = agd::predict_probabilities(model, ready);
    std::printf("sample 0: class %d with probability %.3f (its label: %d)\n", classes[0],
                probabilities(classes[0], 0), raw_test.labels[0]);
    std::size_t correct = 0;
    for (std::size_t j = 0; j < classes.size(); ++j) correct += classes[j] == raw_test.labels[j];
    std::printf("reloaded model: %.2f%% of the test set right\n",
                100.0 * double(correct) / double(classes.size()));
    std::printf("agd::evaluate: %.2f%%\n",
                100 * agd::evaluate(model, agd::CrossEntropyLoss{}, test).accuracy);
  } catch (const std::exception& error) {
    std::cerr << "own_data: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
