// bench_cnn's ResNet18 (examples/cnn_models.hpp), in a translation unit of its own.
#include "cnn.hpp"
#include "cnn_models.hpp"

namespace agd_bench {
void add_resnet18(std::vector<registered_model>& models) {
  using Net = examples::ResNet18;
  models.push_back({"resnet18", Net::parameter_count, &time_agd_step<Net>,
                    &time_agd_step<Net::with_precision<agd::bf16>>});
}
}  // namespace agd_bench
