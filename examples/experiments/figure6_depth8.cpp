// Figure 6, depth 8: AGD on FCNs of width 64 to 1024 (one network type per width).
#include "experiments.hpp"

namespace experiments {

void figure6_depth8(const context& ctx, figure_files& files) {
  run_spec spec;
  spec.figure = "figure6";
  spec.epochs = figure6_epochs(ctx);
  spec.track_updates = false;
  run_agd<8, 64>(ctx, spec, files);
  run_agd<8, 128>(ctx, spec, files);
  run_agd<8, 256>(ctx, spec, files);
  run_agd<8, 512>(ctx, spec, files);
  run_agd<8, 1024>(ctx, spec, files);
}

}  // namespace experiments
