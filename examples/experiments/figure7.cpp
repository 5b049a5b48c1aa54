// Figure 7: a depth-4 width-256 FCN trained by AGD at mini-batch sizes 32 to 4096, for an equal
// number of epochs long enough for every batch size to level off (100: batch 4096 then takes
// 1400 steps), with the test set also evaluated at fixed step counts so that the batch sizes can
// be compared at equal numbers of steps as well.
#include "experiments.hpp"

namespace experiments {

void figure7(const context& ctx) {
  figure_files files(ctx, "figure7", figure_files::with::evals);
  run_spec spec = spec_for(ctx, "figure7");
  spec.epochs = ctx.epochs_or(100, 2);
  // 1400 = 100 epochs of batch 4096 (14 steps each), doubled and halved; a few early points.
  spec.eval_steps = {10,   20,   50,    100,   175,   350,   700,   1400,
                     2800, 5600, 11200, 22400, 44800, 89600, 179200};
  for (std::size_t batch : {32, 128, 512, 2048, 4096}) {
    // The quick subset is too small for 4096-sample batches.
    if (batch > ctx.train->size()) continue;
    spec.batch = batch;
    run_agd<4, 256>(ctx, spec, files);
  }
}

}  // namespace experiments
