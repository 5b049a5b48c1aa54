// The convolutional networks of bench_cnn (FashionCNN, VGG-16 and ResNet-18 of
// examples/cnn_models.hpp), each compiled in its own translation unit (cnn_*.cpp) and registered
// here for bench_cnn's main (cnn_main.cpp) to look up by name.
#pragma once

#include <string>
#include <vector>

#include "sweep.hpp"

namespace agd_bench {

struct registered_model {
  std::string name;
  std::size_t parameters;
  shape_runner run;
  /// The same network with_precision<agd::bf16>.
  shape_runner run_bf16;
};

// One function per translation unit; each appends the model it compiles.
void add_fashion_cnn(std::vector<registered_model>& models);
void add_vgg16(std::vector<registered_model>& models);
void add_resnet18(std::vector<registered_model>& models);

}  // namespace agd_bench
