// A data set from the user's own arrays: row-major float features (sample i's features are
// values[i * features, (i + 1) * features), as a C array, a std::vector or numpy's C-order
// array.tofile() hold them) and one integer label per sample.
//
//   std::vector<float> x = ...;             // n * 20 values
//   std::vector<std::int32_t> y = ...;      // n labels in [0, 3)
//   agd::data::dataset data = agd::data::from_row_major(x, 20, y);
//
// Checked like the IDX reader checks a file: the sizes agree, every feature is finite, every
// label is a class; each error is a dataset_error that names the sample and says what to do.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>

#include "agd/data/dataset.hpp"

namespace agd::data {

/// Copies row-major features (`features` values per sample) and their labels into a dataset
/// (one sample per column). `classes` is the number of classes; 0 takes one more than the
/// largest label.
inline dataset from_row_major(std::span<const float> values, std::size_t features,
                              std::span<const std::int32_t> labels, int classes = 0) {
  const std::string who = "agd::data::from_row_major: ";
  if (features == 0) throw dataset_error(who + "a sample must have at least one feature");
  if (labels.empty()) throw dataset_error(who + "no labels, so no samples: the data set is empty");
  if (values.size() % features != 0 || values.size() / features != labels.size())
    throw dataset_error(who + std::to_string(values.size()) + " values are not " +
                        std::to_string(labels.size()) + " samples (one per label) of " +
                        std::to_string(features) +
                        " features; check the feature count and that "
                        "the arrays belong together");
  if (classes < 0) throw dataset_error(who + "classes is negative");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || (classes > 0 && labels[i] >= classes))
      throw dataset_error(who + "the label of sample " + std::to_string(i) + " is " +
                          std::to_string(labels[i]) + ", outside 0.." +
                          (classes > 0 ? std::to_string(classes - 1) : std::string("")) +
                          "; labels are class indices from 0");
    // Without `classes` the class count is one more than the largest label, which must itself
    // be an int.
    if (classes == 0 && labels[i] == std::numeric_limits<std::int32_t>::max())
      throw dataset_error(who + "the label of sample " + std::to_string(i) + " is " +
                          std::to_string(labels[i]) +
                          ", so the classes would number one more, which no int holds; labels "
                          "are class indices from 0: check the labels, or pass `classes`");
  }
  for (std::size_t k = 0; k < values.size(); ++k)
    if (!std::isfinite(values[k]))
      throw dataset_error(who + "feature " + std::to_string(k % features) + " of sample " +
                          std::to_string(k / features) + " is " + std::to_string(values[k]) +
                          "; the network can only learn from finite numbers: fix or drop it");
  dataset data;
  data.classes = classes > 0 ? classes : *std::max_element(labels.begin(), labels.end()) + 1;
  // Row-major samples x features is exactly a column-major features x samples matrix.
  data.inputs = Eigen::Map<const Eigen::MatrixXf>(values.data(), Eigen::Index(features),
                                                  Eigen::Index(labels.size()));
  data.labels.assign(labels.begin(), labels.end());
  return data;
}

}  // namespace agd::data
