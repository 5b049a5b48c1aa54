// What turns raw inputs into what a network was trained on, as one value that is saved with the
// weights (agd::io::save_weights, save_checkpoint) and comes back with them, so that a reloaded
// model can be given raw images:
//
//   const auto stats = agd::data::compute_standardisation(train);
//   const auto inputs = agd::data::preprocessing::standardise(stats);
//   inputs.apply(train);  inputs.apply(test);
//   agd::io::save_weights("model.safetensors", net, {.preprocessing = inputs});
//   ...
//   const auto saved = agd::io::load_weights("model.safetensors", net);
//   std::vector<std::int32_t> classes = agd::predict(net, saved.preprocessing(raw_images));
//
// Metadata (strings, as safetensors requires): "agd.inputs" is "standardise" or
// "scale_to_sqrt_dim" (absent, or "none", when the inputs are used as they are); standardising
// adds "agd.inputs.mean" and "agd.inputs.std", each one value
// for every input or one per channel (channel-major C, H, W inputs), comma-separated, written
// with 9 significant digits so that the floats come back exactly.
#pragma once

#include <Eigen/Core>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "agd/data/cifar.hpp"
#include "agd/data/dataset.hpp"

namespace agd::data {

struct preprocessing {
  enum class method { none, standardise, scale_to_sqrt_dim };

  method kind = method::none;
  /// standardise: x -> (x - mean) / std, with one value for every input (size 1) or one per
  /// channel (size C: the inputs are C equal planes, channel-major).
  std::vector<float> mean{};
  std::vector<float> std{};

  /// One mean and std over every input (compute_standardisation): what the examples do.
  static preprocessing standardise(const standardisation& stats) {
    return {method::standardise, {stats.mean}, {stats.std}};
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

}  // namespace agd::data
