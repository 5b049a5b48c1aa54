// Figure 7: a depth-4 width-256 FCN trained by AGD at mini-batch sizes 32 to 4096. Each batch size
// trains for 100 epochs or 11,200 steps, whichever is longer (batch 2048: 387 epochs, 4096: 800),
// so that every one levels off; the test set is also evaluated at fixed step counts, so that the
// batch sizes can be compared both at equal epochs (100) and at equal numbers of steps.
#include <algorithm>

#include "experiments.hpp"

namespace experiments {

void figure7(const context& ctx) {
  figure_files files(ctx, "figure7", figure_files::with::evals);
  run_spec spec = spec_for(ctx, "figure7");
  // --epochs (and --quick) set the epochs of every batch size; by default the large batches
  // also get at least this many steps (100 epochs of batch 512 take 11,700).
  const std::size_t min_epochs = ctx.epochs_or(100, 2);
  const std::size_t min_steps = ctx.epochs || ctx.quick ? 0 : 11200;
  // 1400 = 100 epochs of batch 4096 (14 steps each), doubled and halved; a few early points.
  spec.eval_steps = {10,   20,   50,    100,   175,   350,   700,   1400,
                     2800, 5600, 11200, 22400, 44800, 89600, 179200};
  const std::vector<std::size_t> all = {32, 128, 512, 2048, 4096};
  for (std::size_t batch : ctx.batches.empty() ? all : ctx.batches) {
    // The quick subset is too small for 4096-sample batches.
    if (batch > ctx.train->size()) continue;
    spec.batch = batch;
    std::size_t per_epoch = ctx.train->size() / batch;  // fit drops the partial last batch
    if (ctx.steps_limit()) per_epoch = std::min(per_epoch, ctx.steps_limit());
    spec.epochs = std::max(min_epochs, (min_steps + per_epoch - 1) / per_epoch);
    run_agd<4, 256>(ctx, spec, files);
  }
}

}  // namespace experiments
