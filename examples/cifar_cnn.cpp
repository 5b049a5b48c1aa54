// The paper's CIFAR-10 networks (Section 3.3) as types, trained with AGD on the CPU:
// a pre-activation ResNet-18 or a VGG-16, both without batch norm and biases (cnn_models.hpp).
// CIFAR-10 cannot be downloaded here: point --data at the directory holding its binary version
// (data_batch_1.bin .. data_batch_5.bin and test_batch.bin, or cifar-10-batches-bin/).
//
//   build/examples/cifar_cnn --model resnet18 --data ~/cifar-10-batches-bin --epochs 1
//   build/examples/cifar_cnn --model vgg16 --data ~/cifar-10-batches-bin --max-steps 20
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>

#include "cifar_training.hpp"
#include "example_flags.hpp"

namespace examples {
cifar_result train_resnet18(const cifar_settings& settings, std::ostream& log);
cifar_result train_vgg16(const cifar_settings& settings, std::ostream& log);
}  // namespace examples

int main(int argc, char** argv) {
  examples::cifar_settings s;
  std::string model = "resnet18";
  int threads = 0;
  bool no_augment = false;
  CLI::App app{"Train ResNet-18 or VGG-16 on CIFAR-10 with automatic gradient descent"};
  app.add_option("--data", s.data_dir, "Directory with CIFAR-10's binary files")
      ->required()
      ->check(examples::non_empty_path());
  app.add_option("--model", model, "resnet18 or vgg16")
      ->check(CLI::IsMember({"resnet18", "vgg16"}))
      ->capture_default_str();
  app.add_option("--epochs", s.epochs, "Number of epochs")
      ->check(examples::whole_number(1, examples::max_epochs))
      ->capture_default_str();
  app.add_option("--batch", s.batch, "Mini-batch size")
      ->check(examples::whole_number(1, examples::max_batch))
      ->capture_default_str();
  app.add_option("--max-steps", s.max_steps, "Stop each epoch after this many steps (0: no limit)")
      ->check(examples::whole_number(0, examples::max_steps_flag));
  app.add_option("--loss", s.loss, "mse (the official code's) or xent")
      ->check(CLI::IsMember({"mse", "xent"}))
      ->capture_default_str();
  app.add_flag("--no-augment", no_augment, "Turn off random crops and flips");
  examples::add_precision_flag(app, s.precision);
  app.add_option("--seed", s.seed, "Seed of the initialisation, batch order and augmentation")
      ->check(examples::whole_number(0, std::numeric_limits<std::uint64_t>::max()));
  app.add_option("--threads", threads, "Threads (0: all cores)")
      ->check(examples::whole_number(0, agd::thread_pool::max_threads));
  examples::add_device_flag(app, s.device);
  CLI11_PARSE(app, argc, argv);
  s.augment = !no_augment;

  try {
    agd::set_threads(threads);
    const auto result = model == "resnet18" ? examples::train_resnet18(s, std::cerr)
                                            : examples::train_vgg16(s, std::cerr);
    std::printf("%zu steps, %.3f s per step, loss %.4f -> %.4f, last eta %.4f\n", result.steps,
                result.seconds_per_step, result.first_loss, result.last_loss, result.last_eta);
    std::printf("final test accuracy: %.2f%%\n", 100 * result.test_accuracy);
  } catch (const std::exception& error) {
    std::cerr << "cifar_cnn: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
