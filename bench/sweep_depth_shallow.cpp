// Depth sweep of bench_sweep, width 512: depths 2, 4 and 8 (depth 4 width 512 is also the
// network of the batch sweep and of the main example).
#include "sweep.hpp"

namespace agd_bench {
void add_depth_shapes_shallow(std::vector<registered_shape>& shapes) {
  shapes.push_back(shape<2, 512>());
  shapes.push_back(shape<4, 512>());
  shapes.push_back(shape<8, 512>());
}
}  // namespace agd_bench
