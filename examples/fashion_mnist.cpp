// Trains a depth-4 width-512 fully-connected network on Fashion-MNIST with automatic gradient
// descent (no learning rate), as in the paper's official code: sqrt(2)-gain ReLUs, inputs
// standardised by the training set's mean and std, the official MSE loss, batch 128.
//
//   build/examples/fashion_mnist --epochs 3
//   build/examples/fashion_mnist --optimizer adam --lr 1e-3 --loss xent --csv adam.csv
//   build/examples/fashion_mnist --precision bf16   # bfloat16 products (AVX512-BF16 or AMX)
//
// Ctrl-C (SIGINT) or SIGTERM stops it after the current step, saves the --checkpoint there and
// exits with status 128 + the signal (130, 143): --resume continues bit for bit. A second one
// quits at once.
//
// This file parses the flags and loads the data; the network type and its training are in
// fashion_mnist_train.cpp, a translation unit of its own, so that a change to the network
// recompiles neither CLI11 nor the data readers.
#include "example_flags.hpp"
#include "fashion_mnist_train.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
  examples::fashion_mnist::settings s;
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
                 "epoch")
      ->check(examples::non_empty_path());
  app.add_option("--checkpoint-every", s.checkpoint_every,
                 "Also save every N steps (0: only after each epoch)")
      ->check(examples::whole_number(0, examples::max_steps_flag));
  app.add_option("--resume", s.resume,
                 "Continue the run saved in this checkpoint (same flags and seed: it goes on bit "
                 "for bit; other flags are refused)")
      ->check(examples::non_empty_path());
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
    // Two flags naming one file would overwrite each other's work (--resume goes on writing the
    // checkpoint it reads: that pair is meant).
    examples::check_separate_files({{"--checkpoint", s.checkpoint, true},
                                    {"--csv", s.run.csv, true},
                                    {"--resume", s.resume, false, "--checkpoint"}});
    // Ctrl-C and SIGTERM from here on stop after the current step, with the checkpoint saved.
    agd::train::stop_request stop;
    agd::train::stop_on_signals on_signals(stop);
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
    std::cerr << examples::fashion_mnist::network_summary() << "optimizer " << s.optimizer
              << ", loss " << s.loss << ", batch " << s.run.batch << ", " << s.run.precision << ", "
              << (s.device == "cuda" ? std::string("CUDA (cuBLAS)") : agd::gemm_backend() + " GEMM")
              << "\n";
    const std::optional<double> accuracy = examples::fashion_mnist::train(s, data, &stop);
    if (!accuracy) {
      const int signal = on_signals.signal_received();
      std::cerr << "fashion_mnist: stopped by " << (signal == SIGTERM ? "SIGTERM" : "SIGINT")
                << (s.checkpoint.empty()
                        ? "; no --checkpoint was given, so the run cannot be resumed\n"
                        : "; " + s.checkpoint + " holds the last step: add --resume " +
                              s.checkpoint + " to the same flags to continue\n");
      return 128 + (signal ? signal : SIGINT);
    }
    std::printf("final test accuracy: %.2f%%\n", 100 * *accuracy);
  } catch (const std::bad_alloc&) {
    std::cerr << "fashion_mnist: out of memory; try a smaller --batch\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "fashion_mnist: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
