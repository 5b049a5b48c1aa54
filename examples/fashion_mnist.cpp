// Trains a depth-4 width-512 fully-connected network on Fashion-MNIST with automatic gradient
// descent (no learning rate), as in the paper's official code: sqrt(2)-gain ReLUs, inputs
// standardised by the training set's mean and std, the official MSE loss, batch 128.
//
//   build/examples/fashion_mnist --epochs 3
//   build/examples/fashion_mnist --optimizer adam --lr 1e-3 --loss xent --csv adam.csv
#include "example_support.hpp"

#include <cstdio>
#include <iostream>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using Net =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
static_assert(Net::depth == 4);

struct settings {
  examples::run_settings run = examples::run_settings::with_epochs(3);
  std::string loss = "mse";
  std::string optimizer = "agd";
  std::optional<double> lr;
  double momentum = 0;
  double gain = 1;
  examples::data_settings data;
  std::string checkpoint;
  std::size_t checkpoint_every = 0;
  std::string resume;
  std::string device = "cpu";
};

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
                                              {"run.threads", std::to_string(agd::threads())}};
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
    differences += (differences.empty() ? "" : ", ") + flag_of(key) + " " + found->second +
                   " (now " + value + ")";
  }
  if (!differences.empty())
    throw std::runtime_error("cannot resume from " + s.resume + ": it was saved with " +
                             differences +
                             "; resume with the flags it was saved with, or start a new run");
}

template <class Loss, class Model, class Opt>
double train(Model& net, Opt& optimizer, const examples::prepared_data& data, const settings& s) {
  agd::train::fit_options options = s.run.fit_options();
  if (!s.resume.empty()) {
    const auto info = agd::io::load_checkpoint(s.resume, net, optimizer);
    check_resumed_settings(info.extra, s);
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
  return history.back().test_accuracy;
}

template <class Loss, class Model>
double train_with_optimizer(Model& net, const examples::prepared_data& data, const settings& s) {
  if (s.optimizer == "agd") {
    agd::AGD optimizer(net, {.gain = s.gain, .seed = s.run.seed});
    return train<Loss>(net, optimizer, data, s);
  }
  if (s.optimizer == "adam") {
    agd::Adam optimizer(net, {.lr = s.lr.value_or(1e-3), .seed = s.run.seed});
    return train<Loss>(net, optimizer, data, s);
  }
  agd::SGD optimizer(net, {.lr = s.lr.value_or(0.1), .momentum = s.momentum, .seed = s.run.seed});
  return train<Loss>(net, optimizer, data, s);
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"Train a depth-4 width-512 FCN on Fashion-MNIST with automatic gradient descent"};
  examples::add_run_flags(app, s.run);
  app.add_option("--loss", s.loss,
                 "mse: the official code's mean squared error; square: the paper's "
                 "1/(2 d_L)||f-y||^2; xent: cross-entropy")
      ->check(CLI::IsMember({"mse", "square", "xent"}))
      ->capture_default_str();
  app.add_option("--optimizer", s.optimizer, "agd (no learning rate), adam or sgd")
      ->check(CLI::IsMember({"agd", "adam", "sgd"}))
      ->capture_default_str();
  app.add_option("--lr", s.lr, "Learning rate of adam (default 1e-3) or sgd (default 0.1)")
      ->check(examples::finite_number(0, examples::max_learning_rate, /*low_excluded=*/true));
  app.add_option("--momentum", s.momentum, "SGD momentum")
      ->check(examples::finite_number(0, 0.999))
      ->capture_default_str();
  app.add_option("--gain", s.gain, "AGD gain (the paper uses 1)")
      ->check(examples::finite_number(0, examples::max_gain, /*low_excluded=*/true))
      ->capture_default_str();
  examples::add_data_flags(app, s.data);
  app.add_option("--checkpoint", s.checkpoint,
                 "Save the weights, the optimiser state and the input preprocessing here "
                 "(safetensors, written atomically; a symbolic link is followed) after every "
                 "epoch");
  app.add_option("--checkpoint-every", s.checkpoint_every,
                 "Also save every N steps (0: only after each epoch)")
      ->check(examples::whole_number(0, examples::max_steps_flag));
  app.add_option("--resume", s.resume,
                 "Continue the run saved in this checkpoint (same flags and seed: it goes on bit "
                 "for bit; other flags are refused)");
  examples::add_device_flag(app, s.device);
  CLI11_PARSE(app, argc, argv);
  if (s.device == "cuda" && !examples::cuda_build) {
    std::cerr << "fashion_mnist: --device cuda: this build has no CUDA backend; configure CMake "
                 "with -DAGD_CUDA=ON on a machine with nvcc (and run it on one with an NVIDIA "
                 "GPU)\n";
    return 2;
  }
  if (s.lr && s.optimizer == "agd") {
    std::cerr << "fashion_mnist: --lr is for adam and sgd; AGD sets its own learning rate\n";
    return 2;
  }

  try {
    // Paths that cannot be written are reported now, not after the first epoch.
    if (!s.checkpoint.empty()) agd::io::check_writable(s.checkpoint, "--checkpoint");
    if (!s.run.csv.empty()) agd::io::check_writable(s.run.csv, "--csv");
    agd::set_threads(s.run.threads);
    const examples::prepared_data data = examples::load_fashion_mnist(s.data);
    // Before the network's buffers (batch x width each) are allocated for it.
    if (s.run.batch > data.train.size())
      throw std::invalid_argument("--batch " + std::to_string(s.run.batch) +
                                  " is larger than the training set (" +
                                  std::to_string(data.train.size()) + " samples)");
    std::cerr << Net::summary() << "optimizer " << s.optimizer << ", loss " << s.loss << ", batch "
              << s.run.batch << ", "
              << (s.device == "cuda" ? std::string("CUDA (cuBLAS)") : agd::gemm_backend() + " GEMM")
              << "\n";
    const double accuracy = examples::on_device<Net>(s.device, [&]<class Model>() {
      Model net(s.run.batch);
      if (s.loss == "mse") return train_with_optimizer<agd::MSELoss>(net, data, s);
      if (s.loss == "square") return train_with_optimizer<agd::SquareLoss>(net, data, s);
      return train_with_optimizer<agd::CrossEntropyLoss>(net, data, s);
    });
    std::printf("final test accuracy: %.2f%%\n", 100 * accuracy);
  } catch (const std::bad_alloc&) {
    std::cerr << "fashion_mnist: out of memory; try a smaller --batch\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "fashion_mnist: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
