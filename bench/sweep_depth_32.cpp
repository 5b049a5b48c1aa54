// Depth sweep of bench_sweep: depth 32, width 512 (63 layers; its own translation unit).
#include "sweep.hpp"

namespace agd_bench {
void add_depth_shapes_32(std::vector<registered_shape>& shapes) {
  shapes.push_back(shape<32, 512>());
}
}  // namespace agd_bench
