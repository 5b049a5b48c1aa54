// Figure 5: a depth-8 width-256 FCN trained by AGD and by Adam and SGD at every learning rate of
// the grid {1e-5, ..., 1e-1}; objective, accuracies and the relative update size per step. The
// grid runs with the first seed; AGD and each baseline at the rate that grid found best (highest
// final test accuracy, as the plots choose it) run again with every further seed, so that the
// differences between the three can be set against the spread over seeds.
#include <map>
#include <utility>

#include "experiments.hpp"

namespace experiments {

void figure5(const context& ctx) {
  figure_files files(ctx, "figure5");
  run_spec spec = spec_for(ctx, "figure5");
  spec.epochs = ctx.epochs_or(8, 2);
  const auto seeds = ctx.seed_list();
  std::map<std::string, std::pair<double, double>> best;  // method -> (test accuracy, lr)
  spec.seed = seeds.front();
  run_agd<8, 256>(ctx, spec, files);
  for (const char* method : {"adam", "sgd"})
    for (double lr : {1e-5, 1e-4, 1e-3, 1e-2, 1e-1}) {
      spec.method = method;
      spec.lr = lr;
      const run_result result = run_baseline<8, 256>(ctx, spec, files);
      if (result.diverged || result.history.empty()) continue;
      const double accuracy = result.history.back().test_accuracy;
      auto [entry, added] = best.try_emplace(method, accuracy, lr);
      if (!added && accuracy > entry->second.first) entry->second = {accuracy, lr};
    }
  for (std::size_t i = 1; i < seeds.size(); ++i) {
    spec.seed = seeds[i];
    run_agd<8, 256>(ctx, spec, files);
    for (const auto& [method, chosen] : best) {
      spec.method = method;
      spec.lr = chosen.second;
      run_baseline<8, 256>(ctx, spec, files);
    }
  }
}

}  // namespace experiments
