// The paper's experiments (Figures 1, 4, 5, 6 and 7 of Bernstein et al. 2023) on Fashion-MNIST:
// what the figure programs share. Every run is a fully-connected agd::FCN trained with
// agd::train::fit and the official code's MSE loss; its per-epoch metrics, per-step loss, eta and
// relative update size, and a one-row summary go to three CSV files per figure
// (<figure>_epochs.csv, <figure>_steps.csv, <figure>_summary.csv; Figure 7 adds the test set
// evaluated at fixed step counts, <figure>_evals.csv), which bench/plot_figures.py turns into the
// PNGs in docs/figures/. bench/reproduce.sh runs it all; docs/results.md reads it.
#pragma once

#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace experiments {

/// What every figure needs: the data, where to write, and how long to train.
struct context {
  const agd::data::dataset* train = nullptr;
  const agd::data::dataset* test = nullptr;
  std::filesystem::path out_dir;
  bool quick = false;
  /// Epochs of each run; 0: the figure's own default (full or quick).
  std::size_t epochs = 0;
  /// Stop each epoch after this many steps (0: the whole epoch; quick mode sets its own).
  std::size_t max_steps = 0;
  /// The first seed; runs repeated over seeds use seed, seed + 1, ...
  std::uint64_t seed = 0;
  /// How many seeds the repeated runs use (Figure 1, Figure 5's AGD and best baselines);
  /// 0: the default (3, or 2 with --quick).
  std::size_t seeds = 0;
  /// Figure 7's batch sizes (empty: all of 32, 128, 512, 2048, 4096).
  std::vector<std::size_t> batches;
  std::ostream* log = &std::cerr;

  std::size_t epochs_or(std::size_t full, std::size_t quick_epochs) const {
    return epochs ? epochs : (quick ? quick_epochs : full);
  }
  std::size_t steps_limit() const { return max_steps ? max_steps : (quick ? 12 : 0); }
  /// The seeds of a repeated run: seed, seed + 1, ..., seed + count - 1.
  std::vector<std::uint64_t> seed_list() const {
    std::vector<std::uint64_t> list(seeds ? seeds : (quick ? 2 : 3));
    for (std::size_t i = 0; i < list.size(); ++i) list[i] = seed + i;
    return list;
  }
};

/// One training run, as the CSV files name it.
struct run_spec {
  std::string figure;       // figure1, figure5, figure6, figure7, eta
  std::string method;       // agd, adam, sgd
  double lr = 0;            // 0 for AGD
  std::size_t depth = 0;    // L, weight layers
  std::size_t width = 0;    // hidden width
  std::size_t batch = 128;  // mini-batch size
  std::uint64_t seed = 0;   // of the initialisation and the batch order
  std::size_t epochs = 1;
  bool track_updates = true;  // compute (1/L) sum_k ||dW_k||_F / ||W_k||_F every step
  /// Evaluate the whole test set after these global steps too (ascending; <figure>_evals.csv),
  /// so that runs at different batch sizes can be compared at equal numbers of steps.
  std::vector<std::size_t> eval_steps;
  /// Stop once the train accuracy has not beaten its best by at least plateau_gain for this many
  /// epochs (0: run all the epochs); status "plateau".
  std::size_t plateau_epochs = 0;
  double plateau_gain = 0.001;
};

inline constexpr const char* run_columns = "figure,method,lr,depth,width,batch,seed";
inline constexpr const char* epoch_columns =
    "epoch,steps,train_loss,train_acc,test_loss,test_acc,eta_mean,eta_min,eta_max,upd_mean,"
    "upd_min,upd_max,seconds";
inline constexpr const char* step_columns = "step,epoch,loss,eta,rel_update";
inline constexpr const char* eval_columns = "step,epoch,test_loss,test_acc";
inline constexpr const char* summary_columns =
    "status,epochs_done,final_train_loss,final_train_acc,final_test_loss,final_test_acc,"
    "best_test_acc,seconds";

/// A run of `figure` with the context's first seed and the other fields at their defaults.
inline run_spec spec_for(const context& ctx, std::string figure) {
  run_spec spec;
  spec.figure = std::move(figure);
  spec.seed = ctx.seed;
  return spec;
}

inline std::string run_prefix(const run_spec& s) {
  char text[160];
  std::snprintf(text, sizeof text, "%s,%s,%g,%zu,%zu,%zu,%llu", s.figure.c_str(), s.method.c_str(),
                s.lr, s.depth, s.width, s.batch, static_cast<unsigned long long>(s.seed));
  return text;
}

/// A CSV file with a header, appended to row by row and flushed after each row so that a run
/// killed half way leaves every finished row readable.
class csv_file {
 public:
  csv_file(const std::filesystem::path& path, const std::string& header) : out_(path) {
    if (!out_) throw std::runtime_error(std::string("experiments: cannot write ") + path.string());
    out_ << header << '\n' << std::flush;
  }
  void row(const std::string& text) { out_ << text << '\n' << std::flush; }

 private:
  std::ofstream out_;
};

/// The CSV files of one figure: three always, the evaluations at fixed steps on request.
struct figure_files {
  csv_file epochs, steps, summary;
  std::optional<csv_file> evals;
  enum class with { no_evals, evals };
  explicit figure_files(const context& ctx, const std::string& figure, with extra = with::no_evals)
      : epochs(ctx.out_dir / (figure + "_epochs.csv"),
               std::string(run_columns) + "," + epoch_columns),
        steps(ctx.out_dir / (figure + "_steps.csv"), std::string(run_columns) + "," + step_columns),
        summary(ctx.out_dir / (figure + "_summary.csv"),
                std::string(run_columns) + "," + summary_columns) {
    if (extra == with::evals)
      evals.emplace(ctx.out_dir / (figure + "_evals.csv"),
                    std::string(run_columns) + "," + eval_columns);
  }
};

/// The first `count` samples of `data` (all of them when count is 0 or too large).
inline agd::data::dataset first_samples(const agd::data::dataset& data, std::size_t count) {
  if (count == 0 || count >= data.size()) return data;
  agd::data::dataset part;
  part.classes = data.classes;
  part.inputs = data.inputs.leftCols(Eigen::Index(count));
  part.labels.assign(data.labels.begin(), data.labels.begin() + std::ptrdiff_t(count));
  return part;
}

/// Thrown by a run's epoch callback to end training once its train accuracy has stopped
/// rising (agd::train::fit has no other way to stop early); caught by train_run.
struct plateau_reached {};

/// Tracks the train accuracy per epoch: has it beaten its best by `gain` in the last
/// `patience` epochs?
class plateau_detector {
 public:
  plateau_detector(std::size_t patience, double gain) : patience_(patience), gain_(gain) {}
  /// True when training should stop after this epoch.
  bool flat_after(double train_accuracy) {
    if (patience_ == 0) return false;
    if (train_accuracy >= best_ + gain_) {
      best_ = train_accuracy;
      flat_epochs_ = 0;
      return false;
    }
    return ++flat_epochs_ >= patience_;
  }

 private:
  std::size_t patience_;
  double gain_;
  double best_ = -1;
  std::size_t flat_epochs_ = 0;
};

/// Relative update size (1/L) sum_k ||W_k(after) - W_k(before)||_F / ||W_k(before)||_F of the
/// step just taken, from a copy of the weights kept from the step before. The experiments are
/// not the place to avoid the copies: they cost O(parameters) per step against the step's
/// O(6 x parameters x batch).
template <class Net>
class update_tracker {
 public:
  explicit update_tracker(const Net& net) : before_(Net::depth) { remember(net); }
  double measure_and_remember(const Net& net) {
    double sum = 0;
    for (std::size_t k = 0; k < Net::depth; ++k) {
      const double previous_norm = double(before_[k].norm());
      const double change = double((net.weight(k) - before_[k]).norm());
      sum += previous_norm > 0 ? change / previous_norm : 0.0;
    }
    remember(net);
    return sum / double(Net::depth);
  }

 private:
  void remember(const Net& net) {
    for (std::size_t k = 0; k < Net::depth; ++k) before_[k] = net.weight(k);
  }
  std::vector<typename Net::matrix_type> before_;
};

struct run_result {
  bool diverged = false;
  std::string status = "ok";
  std::vector<agd::train::epoch_metrics> history;
  double seconds = 0;
};

inline std::string format_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

/// Appends ",field" (without building a temporary string: GCC 12's -Wrestrict misfires on
/// `"," + std::string`).
inline void append_field(std::string& row, const std::string& field) {
  row += ',';
  row += field;
}

/// Trains `net` with `optimizer` (which has initialised it) as `spec` says and writes its rows.
/// A run whose loss or gradients stop being finite is recorded as diverged, with the epochs it
/// finished, and does not stop the figure; one stopped by spec.plateau_epochs as "plateau".
template <class Net, class Opt>
run_result train_run(Net& net, Opt& optimizer, const context& ctx, const run_spec& spec,
                     figure_files& files) {
  const std::string prefix = run_prefix(spec);
  std::unique_ptr<update_tracker<Net>> tracker;
  if (spec.track_updates) tracker = std::make_unique<update_tracker<Net>>(net);
  // Per-epoch min/mean/max of the relative update size, filled by on_step.
  double upd_sum = 0, upd_min = std::numeric_limits<double>::infinity(), upd_max = 0;
  std::size_t upd_count = 0, current_epoch = 1;
  std::size_t next_eval = 0;  // index into spec.eval_steps
  if (!spec.eval_steps.empty() && !files.evals)
    throw std::logic_error("experiments: " + spec.figure +
                           " evaluates at fixed steps but has no evals file");

  agd::train::fit_options options;
  options.epochs = spec.epochs;
  options.seed = spec.seed;
  options.max_steps_per_epoch = ctx.steps_limit();
  options.log = ctx.log;
  options.progress = false;
  options.on_step = [&](std::size_t step, double loss, double eta) {
    double update = std::nan("");
    if (tracker) {
      update = tracker->measure_and_remember(net);
      upd_sum += update;
      upd_min = std::min(upd_min, update);
      upd_max = std::max(upd_max, update);
      ++upd_count;
    }
    std::string row = prefix;
    append_field(row, std::to_string(step));
    append_field(row, std::to_string(current_epoch));
    for (double v : {loss, eta, update}) append_field(row, format_number(v));
    files.steps.row(row);
    // The step has been taken and its output counted: the network's buffers are free until
    // fit gathers the next batch, so the test set can go through them here.
    if (next_eval < spec.eval_steps.size() && step == spec.eval_steps[next_eval]) {
      ++next_eval;
      const auto test = agd::train::evaluate(net, agd::MSELoss{}, *ctx.test);
      std::string eval_row = prefix;
      append_field(eval_row, std::to_string(step));
      append_field(eval_row, std::to_string(current_epoch));
      for (double v : {test.loss, test.accuracy}) append_field(eval_row, format_number(v));
      if (files.evals) files.evals->row(eval_row);
    }
  };
  options.on_epoch_end = [&](const agd::train::epoch_metrics& m) {
    const double mean = upd_count ? upd_sum / double(upd_count) : std::nan("");
    const double low = upd_count ? upd_min : std::nan("");
    const double high = upd_count ? upd_max : std::nan("");
    std::string row = prefix;
    append_field(row, std::to_string(m.epoch));
    append_field(row, std::to_string(m.steps));
    for (double v : {m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy, m.mean_eta,
                     m.min_eta, m.max_eta, mean, low, high, m.seconds})
      append_field(row, format_number(v));
    files.epochs.row(row);
    upd_sum = 0;
    upd_min = std::numeric_limits<double>::infinity();
    upd_max = 0;
    upd_count = 0;
    ++current_epoch;
  };

  if (ctx.log)
    *ctx.log << "== " << spec.figure << ": " << spec.method << " lr "
             << (spec.method == "agd" ? std::string("automatic") : format_number(spec.lr))
             << ", depth " << spec.depth << ", width " << spec.width << ", batch " << spec.batch
             << ", seed " << spec.seed << ", " << spec.epochs << " epochs"
             << (spec.plateau_epochs ? " at most" : "") << ", " << Net::parameter_count
             << " parameters\n";
  run_result result;
  const auto start = std::chrono::steady_clock::now();
  // fit returns its history only when it finishes; a diverged run keeps the epochs it finished.
  std::vector<agd::train::epoch_metrics> finished;
  auto keep = options.on_epoch_end;
  plateau_detector plateau(spec.plateau_epochs, spec.plateau_gain);
  options.on_epoch_end = [&](const agd::train::epoch_metrics& m) {
    keep(m);
    finished.push_back(m);
    if (plateau.flat_after(m.train_accuracy)) throw plateau_reached{};
  };
  try {
    agd::train::fit(net, optimizer, agd::MSELoss{}, *ctx.train, *ctx.test, options);
  } catch (const agd::non_finite_error& error) {
    result.diverged = true;
    result.status = "diverged";
    if (ctx.log) *ctx.log << "   diverged: " << error.what() << "\n";
  } catch (const plateau_reached&) {
    result.status = "plateau";
    if (ctx.log)
      *ctx.log << "   train accuracy flat for " << spec.plateau_epochs << " epochs: stopped after "
               << finished.size() << "\n";
  }
  result.history = finished;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string row = prefix;
  append_field(row, result.status);
  append_field(row, std::to_string(finished.size()));
  if (finished.empty()) {
    row += ",nan,nan,nan,nan,nan";
  } else {
    const auto& last = finished.back();
    double best = 0;
    for (const auto& m : finished) best = std::max(best, m.test_accuracy);
    for (double v :
         {last.train_loss, last.train_accuracy, last.test_loss, last.test_accuracy, best})
      append_field(row, format_number(v));
  }
  append_field(row, format_number(result.seconds));
  files.summary.row(row);
  return result;
}

/// AGD on agd::FCN<784, Width, 10, Depth> (orthogonal init, no learning rate).
template <std::size_t Depth, std::size_t Width>
run_result run_agd(const context& ctx, run_spec spec, figure_files& files) {
  using Net = agd::FCN<784, Width, 10, Depth>;
  Net net(spec.batch);
  agd::AGD optimizer(net, {.seed = spec.seed});
  spec.method = "agd";
  spec.lr = 0;
  spec.depth = Depth;
  spec.width = Width;
  return train_run(net, optimizer, ctx, spec, files);
}

/// Adam or SGD (spec.method, spec.lr) on the same network, with PyTorch's default
/// Kaiming-uniform initialisation as the paper's baselines.
template <std::size_t Depth, std::size_t Width>
run_result run_baseline(const context& ctx, run_spec spec, figure_files& files) {
  using Net = agd::FCN<784, Width, 10, Depth>;
  Net net(spec.batch);
  spec.depth = Depth;
  spec.width = Width;
  if (spec.method == "adam") {
    agd::Adam optimizer(net, {.lr = spec.lr, .seed = spec.seed});
    return train_run(net, optimizer, ctx, spec, files);
  }
  if (spec.method != "sgd")
    throw std::invalid_argument("experiments: unknown method '" + spec.method + "'");
  agd::SGD optimizer(net, {.lr = spec.lr, .seed = spec.seed});
  return train_run(net, optimizer, ctx, spec, files);
}

// The figures, each in its own translation unit so that they compile in parallel.
void figure1(const context& ctx);
void figure5(const context& ctx);
void figure7(const context& ctx);
void eta(const context& ctx);
// Figure 6 is a grid of 25 network types, split by depth.
void figure6_depth2(const context& ctx, figure_files& files);
void figure6_depth4(const context& ctx, figure_files& files);
void figure6_depth8(const context& ctx, figure_files& files);
void figure6_depth16(const context& ctx, figure_files& files);
void figure6_depth32_narrow(const context& ctx, figure_files& files);
void figure6_depth32_wide(const context& ctx, figure_files& files);
// Figure 6's two phases: a few of the grid's networks trained until train accuracy stops rising
// (in the depth-4 and depth-8 translation units, which already hold those network types).
void figure6_phases_depth4(const context& ctx, figure_files& files);
void figure6_phases_depth8(const context& ctx, figure_files& files);

/// Figure 6's epochs of each run (full, quick).
inline std::size_t figure6_epochs(const context& ctx) {
  return ctx.epochs_or(3, 2);
}

/// Figure 6's two phases: the training subset (enough images for the networks to fit them all
/// within the time budget), the epoch cap, and the stopping rule.
inline constexpr std::size_t phases_train_samples = 10000;
inline run_spec phases_spec(const context& ctx) {
  run_spec spec = spec_for(ctx, "phases");
  spec.epochs = ctx.epochs_or(150, 2);
  spec.track_updates = false;
  spec.plateau_epochs = 5;
  spec.plateau_gain = 0.001;
  return spec;
}

}  // namespace experiments
