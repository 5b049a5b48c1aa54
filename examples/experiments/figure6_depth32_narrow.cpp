// Figure 6, depth 32, widths 64 to 256: AGD, one network type per width. Depth 32 is split in
// two translation units (narrow, wide) so that neither takes long to compile.
#include "experiments.hpp"

namespace experiments {

void figure6_depth32_narrow(const context& ctx, figure_files& files) {
  run_spec spec = spec_for(ctx, "figure6");
  spec.epochs = figure6_epochs(ctx);
  spec.track_updates = false;
  run_agd<32, 64>(ctx, spec, files);
  run_agd<32, 128>(ctx, spec, files);
  run_agd<32, 256>(ctx, spec, files);
}

}  // namespace experiments
