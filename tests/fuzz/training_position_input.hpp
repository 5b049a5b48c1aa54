// What fuzz_training_position does with one input, shared with test_fuzz_regressions so that
// kept inputs are replayed through the same code: agd::train::training_position::from_metadata
// on arbitrary metadata, and agd::train::fit resuming from every position it accepts (a tiny
// network, 8 samples, 2 per step, 3 epochs: where a bad position once crashed the examples).
// The input is lines "key=value"; a line without '=' is the value of the next standard key in
// turn. Either the position is refused with std::invalid_argument (by from_metadata or fit), or
// it survives its own text form and fit runs to the end, returning one metric per remaining
// epoch. Returns false when that does not hold.
#pragma once

#include <agd/backend/eigen/threads.hpp>
#include <agd/data/dataset.hpp>
#include <agd/layers/dense.hpp>
#include <agd/loss/mse_loss.hpp>
#include <agd/optim/sgd.hpp>
#include <agd/sequential.hpp>
#include <agd/train/fit.hpp>
#include <agd/train/position.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace agd_fuzz {

inline constexpr std::array<std::string_view, 14> position_keys{"train.epoch",
                                                                "train.step_in_epoch",
                                                                "train.global_step",
                                                                "train.loss_sum",
                                                                "train.eta_sum",
                                                                "train.min_eta",
                                                                "train.max_eta",
                                                                "train.correct",
                                                                "train.seen",
                                                                "train.seed",
                                                                "train.batch_size",
                                                                "train.steps_per_epoch",
                                                                "train.training_samples",
                                                                "train.loss"};

inline std::map<std::string, std::string> position_metadata_of(std::string_view text) {
  std::map<std::string, std::string> metadata;
  std::size_t next_key = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const std::size_t equals = line.find('=');
    if (equals != std::string_view::npos)
      metadata[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    else if (next_key < position_keys.size())
      metadata[std::string(position_keys[next_key++])] = std::string(line);
  }
  return metadata;
}

inline bool check_position_input(std::string_view text) {
  // Dense layers only: clang-14 cannot compile the activations (a double template argument).
  using Net = agd::Sequential<agd::Dense<2, 3>, agd::Dense<3, 2>>;
  agd::train::training_position position;
  try {
    position = agd::train::training_position::from_metadata(position_metadata_of(text));
  } catch (const std::invalid_argument&) {
    return true;
  }
  const auto again = agd::train::training_position::from_metadata(position.to_metadata());
  if (again.to_metadata() != position.to_metadata()) return false;

  static const agd::data::dataset samples = [] {
    agd::data::dataset data;
    data.classes = 2;
    data.inputs.resize(2, 8);
    for (Eigen::Index j = 0; j < 8; ++j) {
      data.inputs(0, j) = float(j % 2) - 0.5f;
      data.inputs(1, j) = float(j) / 8;
      data.labels.push_back(std::int32_t(j % 2));
    }
    return data;
  }();
  static const bool one_thread = (agd::set_threads(1), true);  // tiny steps; no pool handoffs
  static_cast<void>(one_thread);
  Net net(2);
  agd::SGD<Net> optimizer(net, {.lr = 0.1, .seed = 1});
  agd::train::fit_options options;
  options.epochs = 3;
  options.log = nullptr;
  options.progress = false;
  options.resume = position;
  try {
    const auto history = agd::train::fit(net, optimizer, agd::MSELoss{}, samples, samples, options);
    return history.size() == options.epochs - position.epoch + 1;
  } catch (const std::invalid_argument&) {
    return true;
  }
}

}  // namespace agd_fuzz
