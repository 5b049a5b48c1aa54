// bench_cnn's FashionCNN (examples/cnn_models.hpp), in a translation unit of its own.
#include "cnn.hpp"
#include "cnn_models.hpp"

namespace agd_bench {
void add_fashion_cnn(std::vector<registered_model>& models) {
  using Net = examples::FashionCNN;
  models.push_back({"fashion_cnn", Net::parameter_count, &time_agd_step<Net>,
                    &time_agd_step<Net::with_precision<agd::bf16>>});
}
}  // namespace agd_bench
