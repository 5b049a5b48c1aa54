// Figure 6, depth 4: AGD on FCNs of width 64 to 1024 (one network type per width).
#include "experiments.hpp"

namespace experiments {

void figure6_depth4(const context& ctx, figure_files& files) {
  run_spec spec;
  spec.figure = "figure6";
  spec.epochs = figure6_epochs(ctx);
  spec.track_updates = false;
  run_agd<4, 64>(ctx, spec, files);
  run_agd<4, 128>(ctx, spec, files);
  run_agd<4, 256>(ctx, spec, files);
  run_agd<4, 512>(ctx, spec, files);
  run_agd<4, 1024>(ctx, spec, files);
}

}  // namespace experiments
