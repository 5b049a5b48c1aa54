// Figure 1 (left): a 32-layer width-256 FCN trained by AGD, by Adam at its default learning rate
// 1e-3 and by SGD at its default 0.1 (the paper: on CIFAR-10 only AGD trained it).
#include "experiments.hpp"

namespace experiments {

void figure1(const context& ctx) {
  figure_files files(ctx, "figure1");
  run_spec spec;
  spec.figure = "figure1";
  spec.epochs = ctx.epochs_or(10, 2);
  run_agd<32, 256>(ctx, spec, files);
  spec.method = "adam";
  spec.lr = 1e-3;
  run_baseline<32, 256>(ctx, spec, files);
  spec.method = "sgd";
  spec.lr = 0.1;
  run_baseline<32, 256>(ctx, spec, files);
}

}  // namespace experiments
