// Where a training run stands, saved in checkpoints as metadata strings, so that a run killed
// and resumed continues bit for bit like an uninterrupted one (the batch order is a function of
// (seed, epoch), and AGD has no state). The position also records what the run was started
// with (seed, batch size, steps per epoch, training set size, loss), so that agd::train::fit can
// refuse to resume it with other settings, which would silently give different results.
//
// from_metadata() trusts nothing: every number must be the whole entry, in range, and the
// entries must agree with each other (a checkpoint may be corrupt, hand-edited or hostile).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace agd::train {

struct training_position {
  std::size_t epoch = 1;          // the epoch in progress, 1-based
  std::size_t step_in_epoch = 0;  // steps of that epoch already taken
  std::size_t global_step = 0;    // steps taken in all
  // The epoch's running sums, so that its metrics come out as if it had not been interrupted.
  double loss_sum = 0, eta_sum = 0;
  double min_eta = std::numeric_limits<double>::infinity();
  double max_eta = -std::numeric_limits<double>::infinity();
  std::size_t correct = 0, seen = 0;

  // What the run was started with (fit fills these in). A position read from a checkpoint
  // written before they were saved lacks them, and then they are not checked.
  std::optional<std::uint64_t> seed{};            // of the batch order
  std::optional<std::size_t> batch_size{};        // samples per step
  std::optional<std::size_t> steps_per_epoch{};   // after max_steps_per_epoch
  std::optional<std::size_t> training_samples{};  // the training set's size
  std::optional<std::string> loss{};              // Loss::name()

  /// Exact text form (doubles as hexadecimal floats) for a checkpoint's metadata.
  std::map<std::string, std::string> to_metadata() const {
    auto hex = [](double v) {
      char text[64];
      std::snprintf(text, sizeof text, "%a", v);
      return std::string(text);
    };
    std::map<std::string, std::string> metadata{
        {"train.epoch", std::to_string(epoch)},
        {"train.step_in_epoch", std::to_string(step_in_epoch)},
        {"train.global_step", std::to_string(global_step)},
        {"train.loss_sum", hex(loss_sum)},
        {"train.eta_sum", hex(eta_sum)},
        {"train.min_eta", hex(min_eta)},
        {"train.max_eta", hex(max_eta)},
        {"train.correct", std::to_string(correct)},
        {"train.seen", std::to_string(seen)}};
    if (seed) metadata["train.seed"] = std::to_string(*seed);
    if (batch_size) metadata["train.batch_size"] = std::to_string(*batch_size);
    if (steps_per_epoch) metadata["train.steps_per_epoch"] = std::to_string(*steps_per_epoch);
    if (training_samples) metadata["train.training_samples"] = std::to_string(*training_samples);
    if (loss) metadata["train.loss"] = *loss;
    return metadata;
  }

  /// Reads a position from checkpoint metadata (checkpoint_info::extra). Throws
  /// std::invalid_argument naming the entry if one is missing, is not a number of its kind (a
  /// whole non-negative integer; a finite float), or disagrees with the others.
  static training_position from_metadata(const std::map<std::string, std::string>& metadata) {
    const std::string who = "agd::train::training_position: ";
    auto text = [&](const std::string& key) -> const std::string* {
      const auto it = metadata.find(key);
      return it == metadata.end() ? nullptr : &it->second;
    };
    auto field = [&](const std::string& key) -> const std::string& {
      const std::string* value = text(key);
      if (!value)
        throw std::invalid_argument(who + "the checkpoint has no '" + key +
                                    "' entry; it was not saved by a training run");
      return *value;
    };
    auto bad = [&](const std::string& key, const std::string& value, const std::string& wanted) {
      // Quote at most 40 characters of a garbled entry.
      const std::string shown = value.size() > 40 ? value.substr(0, 40) + "..." : value;
      return std::invalid_argument(who + "the checkpoint's '" + key + "' is \"" + shown +
                                   "\", not " + wanted + "; the checkpoint is corrupt");
    };
    auto count_of = [&](const std::string& key, const std::string& value) {
      std::uint64_t number = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (value.empty() || error != std::errc() || end != value.data() + value.size() ||
          number > std::numeric_limits<std::size_t>::max())
        throw bad(key, value, "a non-negative integer below 2^64");
      return std::size_t(number);
    };
    auto count = [&](const std::string& key) { return count_of(key, field(key)); };
    auto real = [&](const std::string& key, bool infinity_allowed) {
      const std::string& value = field(key);
      char* end = nullptr;
      const double number = value.empty() ? 0.0 : std::strtod(value.c_str(), &end);
      if (value.empty() || end != value.c_str() + value.size() || std::isnan(number) ||
          (!infinity_allowed && std::isinf(number)))
        throw bad(key, value, infinity_allowed ? "a number" : "a finite number");
      return number;
    };
    training_position p;
    p.epoch = count("train.epoch");
    p.step_in_epoch = count("train.step_in_epoch");
    p.global_step = count("train.global_step");
    p.correct = count("train.correct");
    p.seen = count("train.seen");
    p.loss_sum = real("train.loss_sum", false);
    p.eta_sum = real("train.eta_sum", false);
    p.min_eta = real("train.min_eta", true);
    p.max_eta = real("train.max_eta", true);
    if (const std::string* v = text("train.seed")) p.seed = count_of("train.seed", *v);
    if (const std::string* v = text("train.batch_size"))
      p.batch_size = count_of("train.batch_size", *v);
    if (const std::string* v = text("train.steps_per_epoch"))
      p.steps_per_epoch = count_of("train.steps_per_epoch", *v);
    if (const std::string* v = text("train.training_samples"))
      p.training_samples = count_of("train.training_samples", *v);
    if (const std::string* v = text("train.loss")) p.loss = *v;

    auto inconsistent = [&](const std::string& what) {
      return std::invalid_argument(who + what + "; the checkpoint is corrupt");
    };
    if (p.epoch == 0) throw inconsistent("'train.epoch' is 0, but epochs count from 1");
    if (p.global_step < p.step_in_epoch)
      throw inconsistent("'train.global_step' (" + std::to_string(p.global_step) +
                         ") is below 'train.step_in_epoch' (" + std::to_string(p.step_in_epoch) +
                         ")");
    if (p.correct > p.seen)
      throw inconsistent("'train.correct' (" + std::to_string(p.correct) +
                         ") exceeds 'train.seen' (" + std::to_string(p.seen) + ")");
    if (p.step_in_epoch > 0 &&
        !(std::isfinite(p.min_eta) && std::isfinite(p.max_eta) && p.min_eta <= p.max_eta))
      throw inconsistent(
          "mid-epoch, 'train.min_eta' and 'train.max_eta' must be finite with "
          "min <= max");
    if (p.steps_per_epoch && p.step_in_epoch > *p.steps_per_epoch)
      throw inconsistent("'train.step_in_epoch' (" + std::to_string(p.step_in_epoch) +
                         ") exceeds 'train.steps_per_epoch' (" +
                         std::to_string(*p.steps_per_epoch) + ")");
    if (p.batch_size) {
      if (*p.batch_size == 0) throw inconsistent("'train.batch_size' is 0");
      // fit counts every sample of every whole batch it has stepped on.
      if (p.step_in_epoch > std::numeric_limits<std::size_t>::max() / *p.batch_size ||
          p.seen != p.step_in_epoch * *p.batch_size)
        throw inconsistent("'train.seen' (" + std::to_string(p.seen) + ") is not " +
                           std::to_string(p.step_in_epoch) + " steps of " +
                           std::to_string(*p.batch_size) + " samples");
    }
    if (p.step_in_epoch == 0 && (p.seen != 0 || p.loss_sum != 0 || p.eta_sum != 0))
      throw inconsistent("at the start of an epoch the epoch's sums must be 0");
    return p;
  }

  /// The start of a run with these settings (what fit records in its positions).
  static training_position of_run(std::uint64_t seed, std::size_t batch_size,
                                  std::size_t steps_per_epoch, std::size_t training_samples,
                                  std::string loss) {
    training_position p;
    p.seed = seed;
    p.batch_size = batch_size;
    p.steps_per_epoch = steps_per_epoch;
    p.training_samples = training_samples;
    p.loss = std::move(loss);
    return p;
  }

  /// Throws std::invalid_argument unless the run `now` (of_run) of `epochs` epochs can continue
  /// from this position: the same settings (each difference is listed), a step within its
  /// epochs, and an epoch not past the last (a finished run is complete, not resumed again).
  void check_resumable_by(const training_position& now, std::size_t epochs) const {
    const auto differences = differences_from(now);
    if (!differences.empty()) {
      std::string list;
      for (const auto& difference : differences) list += (list.empty() ? "" : ", ") + difference;
      throw std::invalid_argument(
          "agd::train::fit: cannot resume: the run was saved with " + list +
          "; it would not continue the same run. Resume with the settings it was saved with, "
          "or start a new run");
    }
    if (now.steps_per_epoch && step_in_epoch > *now.steps_per_epoch)
      throw std::invalid_argument("agd::train::fit: cannot resume at step " +
                                  std::to_string(step_in_epoch) + " of an epoch of " +
                                  std::to_string(*now.steps_per_epoch) +
                                  " steps (a different batch size or data set?)");
    if (epoch > epochs)
      throw std::invalid_argument(
          "agd::train::fit: nothing to resume: the run stands at epoch " + std::to_string(epoch) +
          (step_in_epoch ? "" : " (not begun)") + " but options.epochs is " +
          std::to_string(epochs) +
          (epoch == epochs + 1 && step_in_epoch == 0
               ? ", so it is complete; ask for more epochs to train it further"
               : "; ask for at least " + std::to_string(epoch) + " epochs"));
  }

  /// What differs between the run this position was saved from and `now` (a position fit made
  /// for the run about to start), e.g. "batch size 128 (now 64)"; empty if nothing does. Only
  /// what both record is compared.
  std::vector<std::string> differences_from(const training_position& now) const {
    std::vector<std::string> found;
    auto compare = [&](const char* what, const auto& saved, const auto& current) {
      if (saved && current && *saved != *current) {
        std::string line = what;
        if constexpr (std::is_same_v<std::decay_t<decltype(*saved)>, std::string>)
          line += " " + *saved + " (now " + *current + ")";
        else
          line += " " + std::to_string(*saved) + " (now " + std::to_string(*current) + ")";
        found.push_back(line);
      }
    };
    compare("seed", seed, now.seed);
    compare("batch size", batch_size, now.batch_size);
    compare("training set size", training_samples, now.training_samples);
    compare("steps per epoch", steps_per_epoch, now.steps_per_epoch);
    compare("loss", loss, now.loss);
    return found;
  }
};

}  // namespace agd::train
