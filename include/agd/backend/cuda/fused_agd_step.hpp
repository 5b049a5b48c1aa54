// The AGD step of Algorithm 1 / Appendix B on the device, fused over all layers:
//   1. one segmented reduction computes ||grad_{k,s}||_F^2 for every slice s of every weight k
//      at once (multi-tensor: the weights and gradients live in one flat buffer each);
//   2. G = (1/L) sum_k scale_k sum_s ||grad_{k,s}||_F and eta = log((1 + sqrt(1 + 4G)) / 2)
//      are computed on the device, with no copy to the host;
//   3. one pass updates every weight: W -= gain * (eta/L) * scale_k * grad / ||grad_{k,s}||_F.
// Traffic: the gradients are read twice, the weights read and written once, which is the
// memory-bandwidth bound the benchmark compares against. eta and G are copied back only when
// asked for (eta(), gradient_summary()).
//
// Written with Thrust only, so the same code builds with nvcc for CUDA and with g++ for Thrust's
// host (CPP) device system, which is how the CPU-only CI tests it against agd::AGD.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <thrust/copy.h>
#include <thrust/device_ptr.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/constant_iterator.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/discard_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/reduce.h>

#include "agd/backend/cuda/weight_layout.hpp"

#if defined(__CUDACC__)
#define AGD_HOST_DEVICE __host__ __device__
#else
#define AGD_HOST_DEVICE
#endif

namespace agd::cuda {

namespace detail {

/// The slice an element of the flat buffer belongs to: a binary search over the slices' start
/// offsets (a few hundred at most, so a handful of cached loads per element).
struct slice_of_element {
  const std::uint64_t* begins;  // slice_count + 1 offsets, the last = parameter count
  std::uint32_t slices;
  AGD_HOST_DEVICE std::uint32_t operator()(std::uint64_t element) const {
    std::uint32_t low = 0, high = slices;  // begins[low] <= element < begins[high]
    while (high - low > 1) {
      const std::uint32_t middle = (low + high) / 2;
      if (begins[middle] <= element)
        low = middle;
      else
        high = middle;
    }
    return low;
  }
};

/// Squares are summed in double: a slice can hold millions of elements.
struct squared_gradient {
  const float* gradients;
  AGD_HOST_DEVICE double operator()(std::uint64_t element) const {
    const double g = gradients[element];
    return g * g;
  }
};

/// scale_k * ||grad_{k,s}||_F for slice s: its share of L * G.
struct scaled_slice_norm {
  const double* squared_norms;
  const double* scales;
  AGD_HOST_DEVICE double operator()(std::uint32_t slice) const {
    return scales[slice] * sqrt(squared_norms[slice]);
  }
};

/// summary[0] holds L * G on entry; leaves G in summary[0] and eta in summary[1] (Theorem 2).
struct automatic_learning_rate {
  double* summary;
  double depth;
  AGD_HOST_DEVICE void operator()(std::uint32_t) const {
    const double g = summary[0] / depth;
    summary[0] = g;
    summary[1] = log(0.5 * (1.0 + sqrt(1.0 + 4.0 * g)));
  }
};

/// gain * (eta/L) * scale / ||grad_{k,s}||_F per slice; 0 for a zero slice (nothing to follow)
/// and for every slice when G is not finite (a NaN or Inf gradient: no weight changes).
struct slice_factor {
  const double* summary;
  const double* squared_norms;
  const double* scales;
  float* factors;
  double gain_over_depth;
  AGD_HOST_DEVICE void operator()(std::uint32_t slice) const {
    const double g = summary[0];
    const double norm = sqrt(squared_norms[slice]);
    const bool finite = g - g == 0.0;  // false for NaN and Inf
    factors[slice] =
        finite && norm > 0.0 ? float(gain_over_depth * summary[1] * scales[slice] / norm) : 0.0f;
  }
};

struct update_weight {
  float* weights;
  const float* gradients;
  const float* factors;
  slice_of_element slice_of;
  AGD_HOST_DEVICE void operator()(std::uint64_t element) const {
    // A zero factor leaves the weight alone even where the gradient is NaN (0 * NaN is NaN).
    const float factor = factors[slice_of(element)];
    if (factor != 0.0f) weights[element] -= factor * gradients[element];
  }
};

}  // namespace detail

class fused_agd_step {
 public:
  template <std::size_t Depth>
  explicit fused_agd_step(const weight_layout<Depth>& layout, double gain = 1.0)
      : depth_(Depth), parameters_(layout.parameter_count()), gain_(gain) {
    std::vector<std::uint64_t> begins;
    std::vector<double> scales;
    std::uint64_t offset = 0;
    for (std::size_t k = 0; k < Depth; ++k) {
      const std::uint64_t slice_size = layout.size(k) / layout.slices[k];
      for (std::size_t s = 0; s < layout.slices[k]; ++s) {
        begins.push_back(offset);
        scales.push_back(layout.scales[k]);
        offset += slice_size;
      }
    }
    begins.push_back(offset);
    slice_begins_ = begins;
    slice_scales_ = scales;
    squared_norms_.resize(scales.size());
    factors_.resize(scales.size());
    summary_.resize(2);
  }

  std::size_t parameter_count() const { return parameters_; }
  std::size_t slice_count() const { return factors_.size(); }

  /// One AGD step on device buffers holding every weight (and every gradient) one tensor after
  /// the other, in the layout's order. Nothing is copied to the host.
  void step(thrust::device_ptr<float> weights, thrust::device_ptr<const float> gradients) {
    using thrust::counting_iterator;
    using thrust::make_transform_iterator;
    const auto slices = std::uint32_t(factors_.size());
    const detail::slice_of_element slice_of{thrust::raw_pointer_cast(slice_begins_.data()), slices};
    const float* g = thrust::raw_pointer_cast(gradients);
    // 1. Every slice's squared norm in one segmented reduction over the flat gradient buffer.
    const counting_iterator<std::uint64_t> element(0);
    thrust::reduce_by_key(thrust::device, make_transform_iterator(element, slice_of),
                          make_transform_iterator(element + parameters_, slice_of),
                          make_transform_iterator(element, detail::squared_gradient{g}),
                          thrust::make_discard_iterator(), squared_norms_.begin());
    // 2. L * G as a reduction into device memory (a single key), then G and eta in place.
    const counting_iterator<std::uint32_t> slice(0);
    thrust::reduce_by_key(
        thrust::device, thrust::make_constant_iterator(0),
        thrust::make_constant_iterator(0) + slices,
        make_transform_iterator(
            slice, detail::scaled_slice_norm{thrust::raw_pointer_cast(squared_norms_.data()),
                                             thrust::raw_pointer_cast(slice_scales_.data())}),
        thrust::make_discard_iterator(), summary_.begin());
    thrust::for_each_n(
        thrust::device, slice, 1,
        detail::automatic_learning_rate{thrust::raw_pointer_cast(summary_.data()), double(depth_)});
    thrust::for_each_n(
        thrust::device, slice, slices,
        detail::slice_factor{thrust::raw_pointer_cast(summary_.data()),
                             thrust::raw_pointer_cast(squared_norms_.data()),
                             thrust::raw_pointer_cast(slice_scales_.data()),
                             thrust::raw_pointer_cast(factors_.data()), gain_ / double(depth_)});
    // 3. Every weight in one pass.
    thrust::for_each_n(thrust::device, element, parameters_,
                       detail::update_weight{thrust::raw_pointer_cast(weights), g,
                                             thrust::raw_pointer_cast(factors_.data()), slice_of});
  }

  /// G of the last step (copied from the device).
  double gradient_summary() const { return summary_[0]; }
  /// eta of the last step (copied from the device); NaN or Inf if a gradient was not finite, in
  /// which case no weight was changed.
  double eta() const { return summary_[1]; }
  /// ||grad_{k,s}||_F of every slice of the last step, in layout order (copied to the host).
  std::vector<double> slice_norms() const {
    std::vector<double> squared(squared_norms_.size());
    thrust::copy(squared_norms_.begin(), squared_norms_.end(), squared.begin());
    std::vector<double> norms;
    for (double s : squared) norms.push_back(std::sqrt(s));
    return norms;
  }

 private:
  std::size_t depth_;
  std::uint64_t parameters_;
  double gain_;
  thrust::device_vector<std::uint64_t> slice_begins_;
  thrust::device_vector<double> slice_scales_;
  thrust::device_vector<double> squared_norms_;
  thrust::device_vector<float> factors_;
  thrust::device_vector<double> summary_;
};

}  // namespace agd::cuda
