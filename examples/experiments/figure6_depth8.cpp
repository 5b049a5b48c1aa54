// Figure 6, depth 8: AGD on FCNs of width 64 to 1024 (one network type per width), and the widths
// 512 and 1024 again for the two phases, until their train accuracy stops rising.
#include "experiments.hpp"

namespace experiments {

void figure6_depth8(const context& ctx, figure_files& files) {
  run_spec spec = spec_for(ctx, "figure6");
  spec.epochs = figure6_epochs(ctx);
  spec.track_updates = false;
  run_agd<8, 64>(ctx, spec, files);
  run_agd<8, 128>(ctx, spec, files);
  run_agd<8, 256>(ctx, spec, files);
  run_agd<8, 512>(ctx, spec, files);
  run_agd<8, 1024>(ctx, spec, files);
}

void figure6_phases_depth8(const context& ctx, figure_files& files) {
  const run_spec spec = phases_spec(ctx);
  run_agd<8, 512>(ctx, spec, files);
  run_agd<8, 1024>(ctx, spec, files);
}

}  // namespace experiments
