// Width sweep of bench_sweep: depth 4, widths 64 .. 2048 (512 is in sweep_depth_shallow.cpp).
#include "sweep.hpp"

namespace agd_bench {
void add_width_shapes(std::vector<registered_shape>& shapes) {
  shapes.push_back(shape<4, 64>());
  shapes.push_back(shape<4, 128>());
  shapes.push_back(shape<4, 256>());
  shapes.push_back(shape<4, 1024>());
  shapes.push_back(shape<4, 2048>());
}
}  // namespace agd_bench
