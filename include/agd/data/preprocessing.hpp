// What turns raw inputs into what a network was trained on, as one value that is saved with the
// weights (agd::io::save_weights, save_checkpoint) and comes back with them, so that a reloaded
// model can be given raw inputs:
//
//   const auto inputs = agd::data::preprocessing::standardise(
//       agd::data::compute_feature_standardisation(train));  // tabular data (CSV): per feature
//   inputs.apply(train);  inputs.apply(test);
//   agd::io::save_weights("model.safetensors", net, {.preprocessing = inputs});
//   ...
//   const auto saved = agd::io::load_weights("model.safetensors", net);
//   std::vector<std::int32_t> classes = agd::predict(net, saved.preprocessing(raw_samples));
//
// The statistics it can hold, each computed on the training set: one mean and std over every
// input (compute_standardisation, dataset.hpp: images, as the paper's code does for
// Fashion-MNIST), one per colour channel (compute_channel_standardisation: CIFAR), or one per
// feature (compute_feature_standardisation: tabular data, whose features come in units of their
// own; one mean and std over all of them would squash the features with a small spread).
//
// Metadata (strings, as safetensors requires): "agd.inputs" is "standardise" or
// "scale_to_sqrt_dim" (absent, or "none", when the inputs are used as they are); standardising
// adds "agd.inputs.mean" and "agd.inputs.std", each one value for every input, one per channel
// (channel-major C, H, W inputs) or one per feature (a channel of one input),
// comma-separated, written with 9 significant digits so that the floats come back exactly.
//
// A resumed run must give its inputs the preprocessing the checkpoint's weights were trained
// with: check_resumed_preprocessing refuses statistics computed from other data.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "agd/data/dataset.hpp"

namespace agd::data {

// Per-channel mean and standard deviation, as torchvision's Normalize(mean, std) applies them to
// colour images. Entries at and after `channels` are unused (mean 0, std 1).
struct channel_standardisation {
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  std::size_t channels = 3;
};

namespace detail {

// Rows per channel plane, after checking that the inputs split into `channels` planes.
inline Eigen::Index channel_plane_rows(const char* function, Eigen::Index rows,
                                       std::size_t channels) {
  if (channels < 1 || channels > 3) {
    throw std::invalid_argument(std::string("agd: ") + function + ": " + std::to_string(channels) +
                                " channels; 1 to 3 are supported");
  }
  if (rows == 0 || rows % static_cast<Eigen::Index>(channels) != 0) {
    throw std::invalid_argument(std::string("agd: ") + function + ": inputs of " +
                                std::to_string(rows) + " rows do not split into " +
                                std::to_string(channels) +
                                " equal channel planes; the inputs must be channel-major (C, H, "
                                "W), as read_cifar_file and load_cifar give them");
  }
  return rows / static_cast<Eigen::Index>(channels);
}

}  // namespace detail

// Mean and population standard deviation of each channel over every pixel of every image of the
// training set (inputs in C, H, W order). Accumulates in double, two passes.
inline channel_standardisation compute_channel_standardisation(const dataset& train,
                                                               std::size_t channels = 3) {
  const Eigen::Index plane =
      detail::channel_plane_rows("compute_channel_standardisation", train.inputs.rows(), channels);
  if (train.inputs.cols() == 0) {
    throw std::invalid_argument(
        "agd: compute_channel_standardisation: the dataset is empty; load the training set first");
  }
  channel_standardisation stats;
  stats.channels = channels;
  const double count = static_cast<double>(plane) * static_cast<double>(train.inputs.cols());
  for (std::size_t c = 0; c < channels; ++c) {
    const auto values =
        train.inputs.middleRows(static_cast<Eigen::Index>(c) * plane, plane).cast<double>();
    const double mean = values.sum() / count;
    const double variance = (values.array() - mean).square().sum() / count;
    stats.mean[c] = static_cast<float>(mean);
    stats.std[c] = static_cast<float>(std::sqrt(variance));
  }
  return stats;
}

// x -> (x - mean[c]) / std[c] for every input value of channel c.
inline void apply(const channel_standardisation& stats, dataset& data) {
  const Eigen::Index plane = detail::channel_plane_rows("apply(channel_standardisation)",
                                                        data.inputs.rows(), stats.channels);
  for (std::size_t c = 0; c < stats.channels; ++c) {
    if (!(stats.std[c] > 0.0f) || !std::isfinite(stats.std[c]) || !std::isfinite(stats.mean[c])) {
      throw std::invalid_argument(
          "agd: apply(channel_standardisation): std must be positive and finite and mean finite, "
          "got mean " +
          std::to_string(stats.mean[c]) + " std " + std::to_string(stats.std[c]) + " for channel " +
          std::to_string(c) +
          "; a channel that is constant over the training set cannot be standardised");
    }
  }
  for (std::size_t c = 0; c < stats.channels; ++c) {
    auto values = data.inputs.middleRows(static_cast<Eigen::Index>(c) * plane, plane).array();
    values = (values - stats.mean[c]) / stats.std[c];
  }
}

// One mean and (population) standard deviation per feature, i.e. per input row: the
// standardisation of tabular data, whose features are measured in units of their own (metres
// and grams, or 1 and 1000). A feature that is constant over the training set has std 0 and
// carries nothing to learn from; it gets std 1, so that it becomes 0 rather than a division by
// zero (as scikit-learn's StandardScaler does).
struct feature_standardisation {
  std::vector<float> mean{};
  std::vector<float> std{};
};

// The mean and population standard deviation of every feature (row) over the samples of the
// training set. Accumulates in double, two passes (no E[x^2] - E[x]^2 cancellation).
inline feature_standardisation compute_feature_standardisation(const dataset& train) {
  if (train.inputs.rows() == 0 || train.inputs.cols() == 0) {
    throw std::invalid_argument(
        "agd: compute_feature_standardisation: the dataset is empty; load the training set "
        "first");
  }
  const double count = static_cast<double>(train.inputs.cols());
  const Eigen::VectorXd mean = train.inputs.cast<double>().rowwise().sum() / count;
  const Eigen::VectorXd variance =
      (train.inputs.cast<double>().colwise() - mean).array().square().rowwise().sum() / count;
  feature_standardisation stats;
  for (Eigen::Index r = 0; r < train.inputs.rows(); ++r) {
    const float feature_mean = static_cast<float>(mean(r));
    const float feature_std = static_cast<float>(std::sqrt(variance(r)));
    if (!std::isfinite(feature_mean) || !std::isfinite(feature_std)) {
      throw std::invalid_argument(
          "agd: compute_feature_standardisation: feature " + std::to_string(r) +
          " of the training set has mean " + std::to_string(feature_mean) + " and std " +
          std::to_string(feature_std) +
          ": it holds a NaN or an infinity, or values whose squares overflow; fix the data");
    }
    stats.mean.push_back(feature_mean);
    stats.std.push_back(feature_std > 0.0f ? feature_std : 1.0f);  // constant: see above
  }
  return stats;
}

// x -> (x - mean[f]) / std[f] for every value of feature f.
inline void apply(const feature_standardisation& stats, dataset& data) {
  if (stats.mean.empty() || stats.mean.size() != stats.std.size() ||
      stats.mean.size() != static_cast<std::size_t>(data.inputs.rows())) {
    throw std::invalid_argument(
        "agd: apply(feature_standardisation): " + std::to_string(stats.mean.size()) +
        " means and " + std::to_string(stats.std.size()) + " stds for inputs of " +
        std::to_string(data.inputs.rows()) +
        " features; compute the standardisation on a training set with the same features");
  }
  for (std::size_t f = 0; f < stats.mean.size(); ++f) {
    if (!(stats.std[f] > 0.0f) || !std::isfinite(stats.std[f]) || !std::isfinite(stats.mean[f])) {
      throw std::invalid_argument(
          "agd: apply(feature_standardisation): std must be positive and finite and mean "
          "finite, got mean " +
          std::to_string(stats.mean[f]) + " std " + std::to_string(stats.std[f]) + " for feature " +
          std::to_string(f));
    }
  }
  const Eigen::Map<const Eigen::ArrayXf> mean(stats.mean.data(), data.inputs.rows());
  const Eigen::Map<const Eigen::ArrayXf> scale(stats.std.data(), data.inputs.rows());
  data.inputs = ((data.inputs.array().colwise() - mean).colwise() / scale).matrix();
}

struct preprocessing {
  enum class method { none, standardise, scale_to_sqrt_dim };

  method kind = method::none;
  /// standardise: x -> (x - mean) / std, with one value for every input (size 1), one per
  /// channel (size C: the inputs are C equal planes, channel-major) or one per feature (size
  /// d_0: planes of one input each).
  std::vector<float> mean{};
  std::vector<float> std{};

  /// One mean and std over every input (compute_standardisation): images, as the Fashion-MNIST
  /// examples do.
  static preprocessing standardise(const standardisation& stats) {
    return {method::standardise, {stats.mean}, {stats.std}};
  }
  /// Per feature (compute_feature_standardisation): tabular data, e.g. a CSV file.
  static preprocessing standardise(const feature_standardisation& stats) {
    return {method::standardise, stats.mean, stats.std};
  }
  /// Per colour channel (compute_channel_standardisation): CIFAR.
  static preprocessing standardise(const channel_standardisation& stats) {
    preprocessing p{method::standardise, {}, {}};
    for (std::size_t c = 0; c < stats.channels && c < stats.mean.size(); ++c) {
      p.mean.push_back(stats.mean[c]);
      p.std.push_back(stats.std[c]);
    }
    return p;
  }
  /// The paper's Prescription 1 (scale_to_sqrt_dim): each input scaled to norm sqrt(d_0).
  static preprocessing scale_to_sqrt_dim() { return {method::scale_to_sqrt_dim, {}, {}}; }

  /// Preprocesses raw inputs (one sample per column) in place.
  void apply(Eigen::Ref<Eigen::MatrixXf> inputs) const {
    check();
    if (kind == method::standardise) {
      const auto channels = static_cast<Eigen::Index>(mean.size());
      if (inputs.rows() % channels != 0)
        throw std::invalid_argument("agd::data::preprocessing: inputs of " +
                                    std::to_string(inputs.rows()) + " rows do not split into the " +
                                    std::to_string(channels) +
                                    " channel planes the standardisation was computed for");
      const Eigen::Index plane = inputs.rows() / channels;
      for (Eigen::Index c = 0; c < channels; ++c) {
        auto values = inputs.middleRows(c * plane, plane).array();
        values = (values - mean[std::size_t(c)]) / std[std::size_t(c)];
      }
    } else if (kind == method::scale_to_sqrt_dim) {
      const float target_norm = std::sqrt(static_cast<float>(inputs.rows()));
      for (Eigen::Index j = 0; j < inputs.cols(); ++j) {
        const float norm = inputs.col(j).norm();
        if (norm > 0.0f) inputs.col(j) *= target_norm / norm;
      }
    }
  }
  void apply(dataset& data) const { apply(Eigen::Ref<Eigen::MatrixXf>(data.inputs)); }

  /// A preprocessed copy of raw inputs (one sample per column).
  Eigen::MatrixXf operator()(const Eigen::Ref<const Eigen::MatrixXf>& raw) const {
    Eigen::MatrixXf inputs = raw;
    apply(inputs);
    return inputs;
  }

  /// The "agd.inputs..." metadata strings (none for method::none).
  std::map<std::string, std::string> to_metadata() const {
    check();
    if (kind == method::none) return {};  // as a file from elsewhere: nothing to undo
    if (kind == method::scale_to_sqrt_dim) return {{"agd.inputs", "scale_to_sqrt_dim"}};
    return {{"agd.inputs", "standardise"},
            {"agd.inputs.mean", join(mean)},
            {"agd.inputs.std", join(std)}};
  }

  /// Reads the "agd.inputs..." metadata; no "agd.inputs" entry (a file from elsewhere, or one
  /// saved without preprocessing) is method::none. Throws std::invalid_argument naming the
  /// entry that is malformed.
  static preprocessing from_metadata(const std::map<std::string, std::string>& metadata) {
    const auto found = metadata.find("agd.inputs");
    if (found == metadata.end() || found->second == "none") return {};
    if (found->second == "scale_to_sqrt_dim") return scale_to_sqrt_dim();
    if (found->second != "standardise")
      throw std::invalid_argument("metadata \"agd.inputs\" is \"" + found->second +
                                  "\", not none, standardise or scale_to_sqrt_dim");
    preprocessing p{method::standardise, split(metadata, "agd.inputs.mean"),
                    split(metadata, "agd.inputs.std")};
    if (p.mean.size() != p.std.size())
      throw std::invalid_argument(
          "metadata \"agd.inputs.mean\" has " + std::to_string(p.mean.size()) +
          " values but \"agd.inputs.std\" has " + std::to_string(p.std.size()));
    p.check();
    return p;
  }

  friend bool operator==(const preprocessing&, const preprocessing&) = default;

 private:
  void check() const {
    if (kind != method::standardise) return;
    if (mean.empty() || mean.size() != std.size())
      throw std::invalid_argument(
          "agd::data::preprocessing: standardise needs as many means as stds, at least one");
    for (std::size_t c = 0; c < mean.size(); ++c)
      if (!std::isfinite(mean[c]) || !(std[c] > 0.0f) || !std::isfinite(std[c]))
        throw std::invalid_argument("agd::data::preprocessing: mean " + std::to_string(mean[c]) +
                                    " and std " + std::to_string(std[c]) +
                                    " cannot standardise: the mean must be finite and the std "
                                    "positive and finite");
  }

  static std::string join(const std::vector<float>& values) {
    std::string text;
    for (const float value : values) {
      char number[32];
      std::snprintf(number, sizeof number, "%.9g", static_cast<double>(value));
      if (!text.empty()) text += ',';
      text += number;
    }
    return text;
  }

  static std::vector<float> split(const std::map<std::string, std::string>& metadata,
                                  const std::string& key) {
    const auto found = metadata.find(key);
    if (found == metadata.end())
      throw std::invalid_argument("metadata \"agd.inputs\" is \"standardise\" but there is no \"" +
                                  key + "\"");
    const std::string& text = found->second;
    std::vector<float> values;
    const char* at = text.data();
    const char* end = text.data() + text.size();
    for (;;) {
      float value = 0;
      const auto [next, error] = std::from_chars(at, end, value);
      if (error != std::errc() || (next != end && *next != ','))
        throw std::invalid_argument("metadata \"" + key + "\" is \"" + text +
                                    "\", not a comma-separated list of numbers");
      values.push_back(value);
      if (next == end) return values;
      at = next + 1;
    }
  }
};

namespace detail {

inline std::string describe_preprocessing(const preprocessing& p) {
  switch (p.kind) {
    case preprocessing::method::none:
      return "no preprocessing";
    case preprocessing::method::scale_to_sqrt_dim:
      return "scale_to_sqrt_dim";
    case preprocessing::method::standardise:
      break;
  }
  return p.mean.size() == 1
             ? std::string("one mean and std for every input")
             : std::to_string(p.mean.size()) + " means and stds (one per channel or feature)";
}

}  // namespace detail

/// For a resumed run: refuses, with dataset_error, a preprocessing computed from the data given
/// now (`now`) that does not transform inputs as the one saved in the checkpoint (`saved`,
/// checkpoint_info::preprocessing of `checkpoint`) does. The saved weights were trained on
/// inputs transformed by `saved`; statistics computed from other data (another training set, a
/// changed file) would shift and rescale every input under them without a word. Means and stds
/// agree when they differ by at most 1e-5 of the saved std: the same data on another CPU may
/// round the sums differently, other data gives other statistics.
///
/// To go on training on other data on purpose, preprocess it with `saved` itself (not with
/// statistics computed from it): then `now` is `saved` and this check passes. A checkpoint that
/// records no preprocessing (saved without one, or written elsewhere) has nothing to compare
/// with, and is accepted.
inline void check_resumed_preprocessing(const preprocessing& saved, const preprocessing& now,
                                        const std::string& checkpoint) {
  for (const preprocessing* p : {&saved, &now})
    if (p->mean.size() != p->std.size())
      throw std::invalid_argument("agd::data::check_resumed_preprocessing: a preprocessing with " +
                                  std::to_string(p->mean.size()) + " means but " +
                                  std::to_string(p->std.size()) +
                                  " stds; build it with preprocessing::standardise");
  if (saved.kind == preprocessing::method::none) return;
  const std::string start =
      "agd: cannot resume from '" + checkpoint + "': its weights were trained on inputs ";
  const std::string what_to_do =
      "; resume with the training data the checkpoint was saved with, or, to train on other "
      "data on purpose, preprocess it with the checkpoint's own preprocessing "
      "(checkpoint_info::preprocessing) rather than statistics computed from it";
  if (saved.kind != now.kind || saved.mean.size() != now.mean.size())
    throw dataset_error(start + "preprocessed with " + detail::describe_preprocessing(saved) +
                        ", but the data given now is preprocessed with " +
                        detail::describe_preprocessing(now) + what_to_do);
  constexpr float tolerance = 1e-5f;
  for (std::size_t c = 0; c < saved.mean.size(); ++c) {
    const float allowed = tolerance * saved.std[c];
    if (std::fabs(saved.mean[c] - now.mean[c]) <= allowed &&
        std::fabs(saved.std[c] - now.std[c]) <= allowed)
      continue;
    char numbers[256];
    std::snprintf(numbers, sizeof numbers,
                  "standardised with mean %.9g and std %.9g, but the training data given now has "
                  "mean %.9g and std %.9g",
                  double(saved.mean[c]), double(saved.std[c]), double(now.mean[c]),
                  double(now.std[c]));
    const std::string where =
        saved.mean.size() == 1 ? std::string() : " (channel or feature " + std::to_string(c) + ")";
    throw dataset_error(start + numbers + where + ": it is not the data the run was trained on" +
                        what_to_do);
  }
}

}  // namespace agd::data
