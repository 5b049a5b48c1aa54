// agd::cuda::sequential<Layers...>: the same network type on an NVIDIA GPU. The layer list and
// every constexpr fact come from agd::basic_sequential<float, Layers...> (a network type is
// backend-free); only storage and kernels change:
//   using Net = agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
//   Net::on<agd::cuda::device> gpu_net(128);      // == agd::cuda::sequential<...>
// Device memory is allocated once, from the type and the batch capacity (thrust::device_vector,
// RAII, no managed memory): every weight in one flat buffer and every gradient in another (so
// the fused AGD step sees all tensors at once), one activation and one gradient buffer per
// layer. Host <-> device copies happen only at the data boundary: load_batch() in, output(),
// loss(), count_correct() out.
//
// Layers: Dense (cuBLAS GEMMs) and the ReLUs (Thrust). Convolutions and the other CNN layers run
// on the CPU backend only for now: using one here is a compile error that says so.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <thrust/copy.h>
#include <thrust/count.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/constant_iterator.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/discard_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/reduce.h>
#include <thrust/transform.h>
#include <boost/hana.hpp>

#include "agd/backend/cuda/fused_agd_step.hpp"
#include "agd/backend/cuda/gemm.hpp"
#include "agd/backend/cuda/weight_layout.hpp"
#include "agd/network/sequential.hpp"

namespace agd::cuda {

namespace detail {

template <class L>
concept dense_on_device = L::has_weights && requires {
  requires L::weight_rows >
  0;
} && !requires {
  L::workspace_size;
}
&&!requires {
  L::weight_slices;
};
template <class L>
concept relu_on_device = !L::has_weights && requires {
  { L::gain } -> std::convertible_to<double>;
};

struct scaled_relu {
  float gain;
  AGD_HOST_DEVICE float operator()(float x) const { return x > 0.0f ? gain * x : 0.0f; }
};
struct scaled_relu_gradient {
  float gain;
  AGD_HOST_DEVICE float operator()(float x, float dy) const { return x > 0.0f ? gain * dy : 0.0f; }
};

/// The official MSE (loss/mse_loss.hpp) element by element: r = f - sqrt(d_L) onehot(label);
/// writes the gradient 2 r / (n d_L) and returns r^2 / (n d_L).
struct mse_element {
  const float* output;
  const std::int32_t* labels;
  float* gradient;
  std::uint32_t classes;
  float target;
  double scale;  // 1 / (n d_L)
  AGD_HOST_DEVICE double operator()(std::uint64_t e) const {
    const auto row = std::uint32_t(e % classes), column = std::uint32_t(e / classes);
    const float r = output[e] - (labels[column] == std::int32_t(row) ? target : 0.0f);
    gradient[e] = float(2.0 * scale) * r;
    return double(r) * double(r) * scale;
  }
};

struct predicted_correctly {
  const float* output;
  const std::int32_t* labels;
  std::uint32_t classes;
  AGD_HOST_DEVICE bool operator()(std::uint32_t column) const {
    const float* f = output + std::size_t(column) * classes;
    std::uint32_t best = 0;
    for (std::uint32_t c = 1; c < classes; ++c)
      if (f[c] > f[best]) best = c;
    return std::int32_t(best) == labels[column];
  }
};

}  // namespace detail

template <class... Layers>
class sequential {
 public:
  /// The CPU network of the same type: every compile-time fact, and where weights come from.
  using host_network = basic_sequential<float, Layers...>;
  static constexpr auto layers = host_network::layers;
  static constexpr std::size_t layer_count = host_network::layer_count;
  static constexpr std::size_t depth = host_network::depth;
  static constexpr auto activation_sizes = host_network::activation_sizes;
  static constexpr std::size_t input_size = host_network::input_size;
  static constexpr std::size_t output_size = host_network::output_size;
  static constexpr std::size_t parameter_count = host_network::parameter_count;
  static constexpr auto weight_rows = host_network::weight_rows;
  static constexpr auto weight_cols = host_network::weight_cols;
  static constexpr auto weight_layer = host_network::weight_layer;
  static constexpr auto weight_index = host_network::weight_index;
  static constexpr weight_layout<depth> layout = layout_of<host_network>();

 private:
  static constexpr bool supported = boost::hana::all_of(layers, [](auto t) {
    using layer = typename decltype(t)::type;
    return boost::hana::bool_c < detail::dense_on_device<layer> || detail::relu_on_device < layer >>
        ;
  });
  static_assert(supported,
                "agd::cuda::sequential: the CUDA backend runs Dense and ReLU layers for now; "
                "convolutions, pooling, batch norm and residual blocks run on the CPU backend "
                "(agd::Sequential)");

 public:
  explicit sequential(std::size_t batch_capacity = 128, gemm_options options = {})
      : capacity_(batch_capacity),
        gemm_(options),
        weights_(parameter_count, 0.0f),
        gradients_(parameter_count, 0.0f),
        labels_(batch_capacity),
        loss_(1) {
    if (batch_capacity == 0)
      throw std::invalid_argument("agd::cuda::sequential: batch capacity must be > 0");
    for (std::size_t i = 0; i <= layer_count; ++i) {
      activations_[i].resize(activation_sizes[i] * capacity_);
      activation_gradients_[i].resize(activation_sizes[i] * capacity_);
    }
  }

  std::size_t batch_capacity() const { return capacity_; }
  std::size_t batch_size() const { return batch_; }
  /// Every weight, tensor after tensor (column-major, as the CPU backend stores each).
  thrust::device_vector<float>& weights() { return weights_; }
  thrust::device_vector<float>& gradients() { return gradients_; }

  /// Copies the CPU network's weights to the device (e.g. after agd::AGD's initialisation, so
  /// that both backends start from the same point), or back.
  void copy_weights_from(const host_network& net) {
    for (std::size_t k = 0; k < depth; ++k)
      thrust::copy(net.weight(k).data(), net.weight(k).data() + net.weight(k).size(),
                   weights_.begin() + std::ptrdiff_t(layout.offset(k)));
  }
  void copy_weights_to(host_network& net) const {
    for (std::size_t k = 0; k < depth; ++k)
      thrust::copy(weights_.begin() + std::ptrdiff_t(layout.offset(k)),
                   weights_.begin() + std::ptrdiff_t(layout.offset(k) + layout.size(k)),
                   net.weight(k).data());
  }
  std::vector<float> gradient(std::size_t k) const {
    std::vector<float> g(layout.size(k));
    thrust::copy(gradients_.begin() + std::ptrdiff_t(layout.offset(k)),
                 gradients_.begin() + std::ptrdiff_t(layout.offset(k) + layout.size(k)), g.begin());
    return g;
  }

  /// The data boundary: copies n samples (input_size x n, column-major, on the host) and their
  /// labels to the device.
  void load_batch(const float* inputs, std::span<const std::int32_t> labels) {
    const std::size_t n = labels.size();
    if (n == 0 || n > capacity_)
      throw std::invalid_argument("agd::cuda::sequential: a batch of " + std::to_string(n) +
                                  " samples does not fit the capacity " +
                                  std::to_string(capacity_));
    batch_ = n;
    thrust::copy(inputs, inputs + input_size * n, activations_[0].begin());
    thrust::copy(labels.begin(), labels.end(), labels_.begin());
  }

  void forward() {
    namespace hana = boost::hana;
    hana::for_each(hana::make_range(hana::size_c<0>, hana::size_c<layer_count>), [&](auto p) {
      constexpr std::size_t i = decltype(p)::value;
      using layer = typename decltype(+hana::at_c<i>(layers))::type;
      float* x = raw(activations_[i]);
      float* y = raw(activations_[i + 1]);
      if constexpr (layer::has_weights) {
        // Y (out x n) = W (out x in) X (in x n)
        gemm_(false, false, int(layer::weight_rows), int(batch_), int(layer::weight_cols),
              weight_pointer(weight_index[i]), int(layer::weight_rows), x, int(layer::weight_cols),
              0.0f, y, int(layer::weight_rows));
      } else {
        const std::size_t count = activation_sizes[i] * batch_;
        thrust::transform(thrust::device, x, x + count, y, detail::scaled_relu{float(layer::gain)});
      }
    });
  }

  /// The official MSE loss on the device: writes dLoss/dOutput and keeps the loss on the device
  /// (loss() copies it back).
  void mse_loss_gradient() {
    const std::uint64_t count = output_size * batch_;
    const detail::mse_element element{
        raw(activations_[layer_count]),          raw(labels_),
        raw(activation_gradients_[layer_count]), std::uint32_t(output_size),
        std::sqrt(float(output_size)),           1.0 / (double(output_size) * double(batch_))};
    thrust::reduce_by_key(
        thrust::device, thrust::make_constant_iterator(0),
        thrust::make_constant_iterator(0) + count,
        thrust::make_transform_iterator(thrust::counting_iterator<std::uint64_t>(0), element),
        thrust::make_discard_iterator(), loss_.begin());
  }

  void backward() {
    namespace hana = boost::hana;
    hana::for_each(
        hana::reverse(hana::to_tuple(hana::make_range(hana::size_c<0>, hana::size_c<layer_count>))),
        [&](auto p) {
          constexpr std::size_t i = decltype(p)::value;
          using layer = typename decltype(+hana::at_c<i>(layers))::type;
          float* x = raw(activations_[i]);
          float* dy = raw(activation_gradients_[i + 1]);
          float* dx = raw(activation_gradients_[i]);
          if constexpr (layer::has_weights) {
            const int rows = int(layer::weight_rows), cols = int(layer::weight_cols);
            // dW (out x in) = dY (out x n) X^T
            gemm_(false, true, rows, cols, int(batch_), dy, rows, x, cols, 0.0f,
                  gradient_pointer(weight_index[i]), rows);
            // dX (in x n) = W^T dY; the network's input gradient is never needed.
            if constexpr (i > 0)
              gemm_(true, false, cols, int(batch_), rows, weight_pointer(weight_index[i]), rows, dy,
                    rows, 0.0f, dx, cols);
          } else if constexpr (i > 0) {
            const std::size_t count = activation_sizes[i] * batch_;
            thrust::transform(thrust::device, x, x + count, dy, dx,
                              detail::scaled_relu_gradient{float(layer::gain)});
          }
        });
  }

  /// The output of the last forward pass (output_size x n, column-major), copied to the host.
  std::vector<float> output() const {
    std::vector<float> out(output_size * batch_);
    thrust::copy(activations_[layer_count].begin(),
                 activations_[layer_count].begin() + std::ptrdiff_t(out.size()), out.begin());
    return out;
  }
  /// The loss of the last mse_loss_gradient(), copied from the device.
  double loss() const { return loss_[0]; }
  /// How many samples of the last forward pass have the right class as their largest output.
  std::size_t count_correct() const {
    return std::size_t(
        thrust::count_if(thrust::device, thrust::counting_iterator<std::uint32_t>(0),
                         thrust::counting_iterator<std::uint32_t>(std::uint32_t(batch_)),
                         detail::predicted_correctly{raw(activations_[layer_count]), raw(labels_),
                                                     std::uint32_t(output_size)}));
  }

 private:
  template <class T>
  static T* raw(thrust::device_vector<T>& v) {
    return thrust::raw_pointer_cast(v.data());
  }
  template <class T>
  static const T* raw(const thrust::device_vector<T>& v) {
    return thrust::raw_pointer_cast(v.data());
  }
  float* weight_pointer(std::size_t k) { return raw(weights_) + layout.offset(k); }
  float* gradient_pointer(std::size_t k) { return raw(gradients_) + layout.offset(k); }

  std::size_t capacity_;
  std::size_t batch_ = 0;
  gemm_engine gemm_;
  thrust::device_vector<float> weights_;
  thrust::device_vector<float> gradients_;
  std::array<thrust::device_vector<float>, layer_count + 1> activations_;
  std::array<thrust::device_vector<float>, layer_count + 1> activation_gradients_;
  thrust::device_vector<std::int32_t> labels_;
  thrust::device_vector<double> loss_;
};

/// The CUDA backend as a type: Net::on<agd::cuda::device> is the same network on the GPU.
struct device {
  template <class Scalar, class... Layers>
  using network = sequential<Layers...>;
};

/// One training step on the device: forward, the official MSE loss, backward, the fused AGD
/// step. Nothing is copied to the host (net.loss() and step.eta() do that when asked).
template <class... Layers>
void train_step(sequential<Layers...>& net, fused_agd_step& step) {
  net.forward();
  net.mse_loss_gradient();
  net.backward();
  step.step(net.weights().data(), net.gradients().data());
}

}  // namespace agd::cuda
