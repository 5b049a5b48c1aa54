// The paper's FCN experiments on Fashion-MNIST, writing CSV for bench/plot_figures.py.
// clang-format off
//   build/examples/experiments figure1 --out DIR      Figure 1 (left): depth 32, AGD/Adam/SGD, 3 seeds
//   build/examples/experiments figure5 --out DIR      Figure 5: depth 8, lr grid; best runs, 3 seeds
//   build/examples/experiments figure6 --out DIR      Figure 6: depth x width grid, AGD
//   build/examples/experiments phases --out DIR       Figure 6's two phases: 4 networks to a plateau
//   build/examples/experiments figure7 --out DIR      Figure 7: batch sizes 32..4096, AGD
//   build/examples/experiments eta --out DIR          Figure 4 top row: eta, objective per epoch
//   build/examples/experiments all --quick --out DIR  everything, a few steps on a subset (CI)
// clang-format on
//
// bench/reproduce.sh runs these and the plots; docs/results.md shows what they give.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "../example_flags.hpp"
#include "experiments.hpp"

namespace {

void figure6(const experiments::context& ctx) {
  experiments::figure_files files(ctx, "figure6");
  experiments::figure6_depth2(ctx, files);
  experiments::figure6_depth4(ctx, files);
  experiments::figure6_depth8(ctx, files);
  experiments::figure6_depth16(ctx, files);
  experiments::figure6_depth32_narrow(ctx, files);
  experiments::figure6_depth32_wide(ctx, files);
}

/// Figure 6's two phases, on the first experiments::phases_train_samples training images.
void phases(const experiments::context& ctx) {
  const agd::data::dataset subset =
      experiments::first_samples(*ctx.train, experiments::phases_train_samples);
  experiments::context on_subset = ctx;
  on_subset.train = &subset;
  std::cerr << "experiments: phases trains on the first " << subset.size() << " training samples\n";
  experiments::figure_files files(ctx, "phases");
  experiments::figure6_phases_depth4(on_subset, files);
  experiments::figure6_phases_depth8(on_subset, files);
}

}  // namespace

int main(int argc, char** argv) {
  std::string figure;
  std::string out_dir = ".";
  bool quick = false;
  std::size_t epochs = 0, max_steps = 0, train_subset = 0, test_subset = 0, seeds = 0;
  int threads = 0;
  std::uint64_t seed = 0;
  std::vector<std::size_t> batches;
  examples::data_settings data;
  CLI::App app{
      "The paper's fully-connected experiments (Figures 1, 4, 5, 6, 7) on Fashion-MNIST; writes "
      "<figure>_epochs.csv, <figure>_steps.csv and <figure>_summary.csv (and figure7_evals.csv)"};
  app.add_option("figure", figure, "figure1, figure5, figure6, phases, figure7, eta or all")
      ->required()
      ->check(CLI::IsMember({"figure1", "figure5", "figure6", "phases", "figure7", "eta", "all"}));
  app.add_option("--out", out_dir, "Directory for the CSV files (created)")
      ->check(examples::non_empty_path())
      ->capture_default_str();
  app.add_flag("--quick", quick,
               "A few steps per epoch on 8192 training and 2000 test samples: checks that "
               "everything runs (CI), not a result");
  app.add_option("--epochs", epochs, "Epochs of every run (default: the figure's own)")
      ->check(examples::whole_number(1, examples::max_epochs));
  app.add_option("--max-steps", max_steps,
                 "Stop each epoch after this many steps (default: whole epochs; 12 with --quick)")
      ->check(examples::whole_number(0, examples::max_steps_flag));
  app.add_option("--train-subset", train_subset,
                 "Train on the first N training samples (0: all; 8192 with --quick)")
      ->check(examples::whole_number(0, 1'000'000'000));
  app.add_option("--test-subset", test_subset,
                 "Evaluate on the first N test samples (0: all; 2000 with --quick)")
      ->check(examples::whole_number(0, 1'000'000'000));
  app.add_option("--threads", threads, "GEMM threads (0: all cores)")
      ->check(examples::whole_number(0, agd::thread_pool::max_threads));
  app.add_option("--seed", seed,
                 "Seed of the initialisations and the batch order (the first, where runs are "
                 "repeated over seeds)")
      ->check(examples::whole_number(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  app.add_option("--seeds", seeds,
                 "Seeds of the repeated runs (Figure 1; Figure 5's AGD and best baselines): "
                 "--seed, --seed + 1, ... (default 3; 2 with --quick)")
      ->check(examples::whole_number(1, 100));
  app.add_option("--batches", batches,
                 "Figure 7's batch sizes (default: 32 128 512 2048 4096), e.g. to rerun some")
      ->check(CLI::PositiveNumber);
  examples::add_data_flags(app, data);
  CLI11_PARSE(app, argc, argv);

  try {
    agd::set_threads(threads);
    if (quick) {
      if (train_subset == 0) train_subset = 8192;
      if (test_subset == 0) test_subset = 2000;
    }
    const auto [full_train, full_test, preprocessing] = examples::load_fashion_mnist(data);
    const agd::data::dataset train_set = experiments::first_samples(full_train, train_subset);
    const agd::data::dataset test_set = experiments::first_samples(full_test, test_subset);
    std::filesystem::create_directories(out_dir);

    experiments::context ctx;
    ctx.train = &train_set;
    ctx.test = &test_set;
    ctx.out_dir = out_dir;
    ctx.quick = quick;
    ctx.epochs = epochs;
    ctx.max_steps = max_steps;
    ctx.seed = seed;
    ctx.seeds = seeds;
    ctx.batches = batches;
    std::cerr << "experiments: " << train_set.size() << " training and " << test_set.size()
              << " test samples, " << agd::gemm_backend() << " GEMM, CSV into " << out_dir << "\n";

    const std::vector<std::string> all = {"figure1", "figure5", "figure6",
                                          "phases",  "figure7", "eta"};
    for (const auto& name : all) {
      if (figure != "all" && figure != name) continue;
      const auto start = std::chrono::steady_clock::now();
      if (name == "figure1") experiments::figure1(ctx);
      if (name == "figure5") experiments::figure5(ctx);
      if (name == "figure6") figure6(ctx);
      if (name == "phases") phases(ctx);
      if (name == "figure7") experiments::figure7(ctx);
      if (name == "eta") experiments::eta(ctx);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "experiments: %s took %.1f s\n", name.c_str(), seconds);
    }
  } catch (const std::exception& error) {
    std::cerr << "experiments: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
