// Figure 7: a depth-4 width-256 FCN trained by AGD at mini-batch sizes 32 to 4096.
#include "experiments.hpp"

namespace experiments {

void figure7(const context& ctx) {
  figure_files files(ctx, "figure7");
  run_spec spec;
  spec.figure = "figure7";
  spec.epochs = ctx.epochs_or(20, 2);
  for (std::size_t batch : {32, 128, 512, 2048, 4096}) {
    // The quick subset is too small for 4096-sample batches.
    if (batch > ctx.train->size()) continue;
    spec.batch = batch;
    run_agd<4, 256>(ctx, spec, files);
  }
}

}  // namespace experiments
