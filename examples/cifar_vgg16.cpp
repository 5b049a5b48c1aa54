// VGG-16's instantiation of the CIFAR-10 loop, in its own translation unit (see
// cifar_resnet18.cpp).
#include "cifar_training.hpp"
#include "cnn_models.hpp"

namespace examples {
cifar_result train_vgg16(const cifar_settings& settings, std::ostream& log) {
  return train_cifar<VGG16>(settings, log);
}
}  // namespace examples
