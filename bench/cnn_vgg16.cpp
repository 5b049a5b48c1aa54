// bench_cnn's VGG16 (examples/cnn_models.hpp), in a translation unit of its own.
#include "cnn.hpp"
#include "cnn_models.hpp"

namespace agd_bench {
void add_vgg16(std::vector<registered_model>& models) {
  using Net = examples::VGG16;
  models.push_back({"vgg16", Net::parameter_count, &time_agd_step<Net>,
                    &time_agd_step<Net::with_precision<agd::bf16>>});
}
}  // namespace agd_bench
