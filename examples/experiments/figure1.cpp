// Figure 1 (left): a 32-layer width-256 FCN trained by AGD, by Adam at its default learning rate
// 1e-3 and by SGD at its default 0.1 (the paper: on CIFAR-10 only AGD trained it), each with
// every seed of the context (3 by default), so that the spread over seeds can be read off.
#include "experiments.hpp"

namespace experiments {

void figure1(const context& ctx) {
  figure_files files(ctx, "figure1");
  run_spec spec = spec_for(ctx, "figure1");
  // Quick: 6 epochs of 12 steps, because the 32-layer network needs ~70 steps before AGD is
  // clearly above chance on every seed and CPU (after 24 steps: 11-31% test accuracy over four
  // seeds).
  spec.epochs = ctx.epochs_or(10, 6);
  for (const std::uint64_t seed : ctx.seed_list()) {
    spec.seed = seed;
    run_agd<32, 256>(ctx, spec, files);
    spec.method = "adam";
    spec.lr = 1e-3;
    run_baseline<32, 256>(ctx, spec, files);
    spec.method = "sgd";
    spec.lr = 0.1;
    run_baseline<32, 256>(ctx, spec, files);
  }
}

}  // namespace experiments
