// Figure 4, top row (the FCN panel): the automatic learning rate eta and the objective per epoch
// with their minimum, mean and maximum, for the paper's depth-16 width-512 FCN; Adam at the
// paper's tuned 1e-4 is the dashed comparison.
#include "experiments.hpp"

namespace experiments {

void eta(const context& ctx) {
  figure_files files(ctx, "eta");
  run_spec spec = spec_for(ctx, "eta");
  spec.epochs = ctx.epochs_or(6, 2);
  run_agd<16, 512>(ctx, spec, files);
  spec.method = "adam";
  spec.lr = 1e-4;
  run_baseline<16, 512>(ctx, spec, files);
}

}  // namespace experiments
