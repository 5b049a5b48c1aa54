// The training unit of examples/fashion_mnist.cpp: the network type, its optimisers and losses,
// checkpoints and resuming. It is compiled apart from the flags and the data loading (and links
// agd::eigen_kernels, whose GEMM and QR it does not compile again), which keeps the unit that
// changes with the network quick to rebuild.
#include "fashion_mnist_train.hpp"

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace examples::fashion_mnist {
namespace {

using Net =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
static_assert(Net::depth == 4);

/// The settings a resumed run must share with the run it continues, beyond those
/// agd::train::fit checks itself (seed, batch size, loss, steps per epoch, training set size)
/// and load_checkpoint checks (network, optimiser): saved in the checkpoint as "run.*" strings.
std::map<std::string, std::string> run_metadata(const settings& s) {
  auto exact = [](double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", v);
    return std::string(text);
  };
  std::map<std::string, std::string> metadata{{"run.inputs", s.data.inputs},
                                              {"run.threads", std::to_string(agd::threads())},
                                              {"run.precision", s.run.precision}};
  if (s.optimizer == "agd") metadata["run.gain"] = exact(s.gain);
  if (s.lr) metadata["run.lr"] = exact(*s.lr);
  if (s.optimizer == "sgd") metadata["run.momentum"] = exact(s.momentum);
  return metadata;
}

/// Refuses to resume a run saved with other settings (it would not continue the same run), and
/// says so when only the thread count differs (the results then agree to rounding only).
void check_resumed_settings(const std::map<std::string, std::string>& saved, const settings& s) {
  const auto flag_of = [](const std::string& key) { return "--" + key.substr(4); };
  std::string differences;
  for (const auto& [key, value] : run_metadata(s)) {
    const auto found = saved.find(key);
    if (found == saved.end() || found->second == value) continue;
    if (key == "run.threads") {
      std::cerr << "fashion_mnist: note: the run was saved with " << found->second
                << " threads and continues with " << value
                << ": the results agree to rounding, not bit for bit\n";
      continue;
    }
    if (key == "run.precision") {
      // The checkpoint holds float master weights in either precision.
      std::cerr << "fashion_mnist: note: the run was saved in " << found->second
                << " and continues in " << value << "\n";
      continue;
    }
    differences += (differences.empty() ? "" : ", ") + flag_of(key) + " " + found->second +
                   " (now " + value + ")";
  }
  if (!differences.empty())
    throw std::runtime_error("cannot resume from " + s.resume + ": it was saved with " +
                             differences +
                             "; resume with the flags it was saved with, or start a new run");
}

template <class Loss, class Model, class Opt>
std::optional<double> run_training(Model& net, Opt& optimizer, const prepared_data& data,
                                   const settings& s, agd::train::stop_request* stop) {
  agd::train::fit_options options = s.run.fit_options();
  options.stop = stop;
  if (!s.resume.empty()) {
    const auto info = agd::io::load_checkpoint(s.resume, net, optimizer);
    check_resumed_settings(info.extra, s);
    // Other data (another --data) standardises otherwise than the weights were trained on.
    agd::data::check_resumed_preprocessing(info.preprocessing, data.inputs, s.resume);
    options.resume = agd::train::training_position::from_metadata(info.extra);
    const agd::train::training_position& at = *options.resume;
    if (at.epoch > options.epochs) {
      if (at.epoch != options.epochs + 1 || at.step_in_epoch != 0)
        throw std::runtime_error(s.resume + " stands at step " + std::to_string(at.step_in_epoch) +
                                 " of epoch " + std::to_string(at.epoch) + ", beyond --epochs " +
                                 std::to_string(options.epochs) + "; pass --epochs " +
                                 std::to_string(at.epoch) + " or more to continue it");
      // Running the finished command again: nothing to train; report where it ended.
      std::cerr << "the run in " << s.resume << " is complete (" << options.epochs
                << " epochs); pass a larger --epochs to train it further\n";
      return agd::evaluate(net, Loss{}, data.test).accuracy;
    }
    std::cerr << "resumed from " << s.resume << " at epoch " << at.epoch << ", step "
              << at.step_in_epoch << " of it (" << at.global_step << " steps in all)\n";
  }
  if (!s.checkpoint.empty()) {
    options.checkpoint_every_steps = s.checkpoint_every;
    options.on_checkpoint = [&](const agd::train::training_position& position) {
      auto extra = position.to_metadata();
      extra.merge(run_metadata(s));
      agd::io::save_checkpoint(s.checkpoint, net, optimizer,
                               {.step = position.global_step,
                                .epoch = position.epoch,
                                .extra = std::move(extra),
                                .preprocessing = data.inputs});
    };
  }
  const auto history = agd::train::fit(net, optimizer, Loss{}, data.train, data.test, options);
  // Stopped (fit_options::stop) before the last epoch's end: no final accuracy.
  if (history.empty() || history.back().epoch != options.epochs) return std::nullopt;
  return history.back().test_accuracy;
}

template <class Loss, class Model>
std::optional<double> train_with_optimizer(Model& net, const prepared_data& data, const settings& s,
                                           agd::train::stop_request* stop) {
  if (s.optimizer == "agd") {
    agd::AGD optimizer(net, {.gain = s.gain, .seed = s.run.seed});
    return run_training<Loss>(net, optimizer, data, s, stop);
  }
  if (s.optimizer == "adam") {
    agd::Adam optimizer(net, {.lr = s.lr.value_or(1e-3), .seed = s.run.seed});
    return run_training<Loss>(net, optimizer, data, s, stop);
  }
  agd::SGD optimizer(net, {.lr = s.lr.value_or(0.1), .momentum = s.momentum, .seed = s.run.seed});
  return run_training<Loss>(net, optimizer, data, s, stop);
}

}  // namespace

std::string network_summary() {
  return Net::summary();
}

std::optional<double> train(const settings& s, const prepared_data& data,
                            agd::train::stop_request* stop) {
  return examples::on_device<Net>(s.device, [&]<class Model>() {
    examples::network_in_precision<Model> made(s.run.precision, s.run.batch);
    Model& net = made.get();
    if (s.loss == "mse") return train_with_optimizer<agd::MSELoss>(net, data, s, stop);
    if (s.loss == "square") return train_with_optimizer<agd::SquareLoss>(net, data, s, stop);
    return train_with_optimizer<agd::CrossEntropyLoss>(net, data, s, stop);
  });
}

}  // namespace examples::fashion_mnist
