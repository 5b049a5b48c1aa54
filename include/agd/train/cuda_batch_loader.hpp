// train::fit's batches on the CUDA backend: the data set is copied to the device once, each
// epoch's sample order once, and a batch is then gathered on the device (a device-to-device
// copy of its slice of the order, and one kernel), so that a training step copies nothing from
// the host and waits for nothing.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "agd/backend/cuda/backend.hpp"
#include "agd/core/host_device.hpp"
#include "agd/data/dataset.hpp"
#include "agd/train/batch_loader.hpp"

namespace agd::cuda::detail {

/// inputs[:, k] = data[:, indices[k]] and labels[k] = data labels[indices[k]].
template <class S>
struct gather_samples {
  const S* data;
  const std::int32_t* labels;
  const std::uint64_t* indices;
  std::size_t rows;
  S* inputs_out;
  std::int32_t* labels_out;
  AGD_HOST_DEVICE void operator()(std::size_t e) const {
    const std::size_t k = e / rows, r = e % rows;
    const std::uint64_t sample = indices[k];
    inputs_out[e] = data[sample * rows + r];
    if (r == 0) labels_out[k] = labels[sample];
  }
};

}  // namespace agd::cuda::detail

namespace agd::train {

template <class Net>
requires std::same_as<typename Net::backend_type, cuda::device>
class batch_loader<Net> {
  static_assert(sizeof(std::size_t) == sizeof(std::uint64_t));

 public:
  using scalar_type = typename Net::scalar_type;
  using backend = cuda::device;

  /// Copies the data set to the device (in chunks of columns, converted to the network's
  /// scalar type).
  batch_loader(Net& net, const data::dataset& data)
      : net_(net), samples_(data.size()), rows_(data.input_size()) {
    auto& context = net_.context();
    inputs_.resize(rows_ * samples_);
    labels_.resize(samples_);
    order_.resize(samples_);
    batch_.resize(net_.batch_capacity());
    constexpr std::size_t chunk = 4096;
    std::vector<scalar_type> host;
    for (std::size_t first = 0; first < samples_; first += chunk) {
      const std::size_t n = std::min(chunk, samples_ - first);
      host.resize(rows_ * n);
      Eigen::Map<matrix<scalar_type>>(host.data(), Eigen::Index(rows_), Eigen::Index(n)) =
          data.inputs.middleCols(Eigen::Index(first), Eigen::Index(n)).template cast<scalar_type>();
      backend::upload(context, host.data(), host.size(), inputs_.data() + first * rows_);
    }
    backend::upload(context, data.labels.data(), samples_, labels_.data());
    backend::synchronize(context);
  }

  /// Copies the epoch's order to the device (once per epoch: the only host-to-device copy of an
  /// epoch's training steps).
  void begin_epoch(std::span<const std::size_t> order) {
    host_order_ = order;
    backend::upload(net_.context(), reinterpret_cast<const std::uint64_t*>(order.data()),
                    order.size(), order_.data());
  }
  /// Puts the indices of a batch where gather_staged() reads them: a device-to-device copy when
  /// they are a slice of the epoch's order, an upload otherwise.
  void stage(std::span<const std::size_t> indices) {
    staged_ = indices.size();
    const bool in_order =
        !host_order_.empty() && indices.data() >= host_order_.data() &&
        indices.data() + indices.size() <= host_order_.data() + host_order_.size();
    if (in_order)
      backend::copy(net_.context(), order_.data() + (indices.data() - host_order_.data()),
                    indices.size(), batch_.data());
    else
      backend::upload(net_.context(), reinterpret_cast<const std::uint64_t*>(indices.data()),
                      indices.size(), batch_.data());
  }
  /// Gathers the staged samples into the network's input and label buffers: one kernel, whose
  /// arguments are the same for every batch (so that a captured step can include it).
  void gather_staged() {
    backend::local_for_each(net_.context(), rows_ * staged_,
                            cuda::detail::gather_samples<scalar_type>{
                                inputs_.data(), labels_.data(), batch_.data(), rows_,
                                net_.activation_view(0).data, net_.label_buffer()});
  }
  void gather(std::span<const std::size_t> indices) {
    stage(indices);
    gather_staged();
  }
  /// The n samples from `first` on, in order (evaluation): two device-to-device copies.
  void load_range(std::size_t first, std::size_t n) {
    backend::copy(net_.context(), inputs_.data() + first * rows_, n * rows_,
                  net_.activation_view(0).data);
    backend::copy(net_.context(), labels_.data() + first, n, net_.label_buffer());
  }

 private:
  Net& net_;
  std::size_t samples_, rows_;
  std::size_t staged_ = 0;
  std::span<const std::size_t> host_order_;
  cuda::buffer<scalar_type> inputs_;
  cuda::buffer<std::int32_t> labels_;
  cuda::buffer<std::uint64_t> order_;
  cuda::buffer<std::uint64_t> batch_;
};

}  // namespace agd::train
