// Figure 6, depth 16: AGD on FCNs of width 64 to 1024 (one network type per width).
#include "experiments.hpp"

namespace experiments {

void figure6_depth16(const context& ctx, figure_files& files) {
  run_spec spec = spec_for(ctx, "figure6");
  spec.epochs = figure6_epochs(ctx);
  spec.track_updates = false;
  run_agd<16, 64>(ctx, spec, files);
  run_agd<16, 128>(ctx, spec, files);
  run_agd<16, 256>(ctx, spec, files);
  run_agd<16, 512>(ctx, spec, files);
  run_agd<16, 1024>(ctx, spec, files);
}

}  // namespace experiments
