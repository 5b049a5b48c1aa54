// ResNet-18's instantiation of the CIFAR-10 loop, in its own translation unit so that it
// compiles in parallel with VGG-16's (bench/compile_times.sh measures each).
#include "cifar_training.hpp"
#include "cnn_models.hpp"

namespace examples {
cifar_result train_resnet18(const cifar_settings& settings, std::ostream& log) {
  return train_cifar<ResNet18>(settings, log);
}
}  // namespace examples
