// Depth sweep of bench_sweep: depth 16, width 512 (31 layers; its own translation unit).
#include "sweep.hpp"

namespace agd_bench {
void add_depth_shapes_16(std::vector<registered_shape>& shapes) {
  shapes.push_back(shape<16, 512>());
}
}  // namespace agd_bench
