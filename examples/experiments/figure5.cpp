// Figure 5: a depth-8 width-256 FCN trained by AGD and by Adam and SGD at every learning rate of
// the grid {1e-5, ..., 1e-1}; objective, accuracies and the relative update size per step.
#include "experiments.hpp"

namespace experiments {

void figure5(const context& ctx) {
  figure_files files(ctx, "figure5");
  run_spec spec;
  spec.figure = "figure5";
  spec.epochs = ctx.epochs_or(8, 2);
  run_agd<8, 256>(ctx, spec, files);
  for (const char* method : {"adam", "sgd"})
    for (double lr : {1e-5, 1e-4, 1e-3, 1e-2, 1e-1}) {
      spec.method = method;
      spec.lr = lr;
      run_baseline<8, 256>(ctx, spec, files);
    }
}

}  // namespace experiments
