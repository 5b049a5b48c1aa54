// The scalar part of an AGD step, written once for every backend (the CPU runs it on the host,
// the CUDA backend in a one-thread kernel, so that G and eta never leave the device). Given the
// squared Frobenius norm of every AGD slice of every gradient (a backend's segmented sum), it
// computes, in this order:
//   ||grad_k||_F for every weight, and stops the step (no factor is non-zero) if one is not
//   finite: a NaN or an Inf anywhere in a gradient makes its norm so;
//   G = (1/L) sum_k sqrt(d_k/d_{k-1}) sum_s ||grad_{k,s}||_F       (Definition 11; Appendix B
//       sums the norms of a convolution's K*K slices, each with the kernel's scale);
//   eta = log((1 + sqrt(1 + 4G)) / 2)                             (Theorem 2);
//   factor_{k,s} = gain * (eta / L) * sqrt(d_k/d_{k-1}) / ||grad_{k,s}||_F,
// the per-slice factor of the update W_{k,s} -= factor_{k,s} grad_{k,s} (Algorithm 1). A slice
// whose gradient is exactly zero has no direction to move in: its factor is 0 and it is left
// unchanged (the official code's torch.nan_to_num does the same).
#pragma once

#include <cstddef>
#include <cstdint>

#include "agd/core/host_device.hpp"
#include "agd/core/status.hpp"

namespace agd {

/// What an AGD step leaves behind besides the update (in the backend's memory).
struct agd_scalars {
  double gradient_summary = 0;  // G
  double eta = 0;
  double steps = 0;  // steps taken (counted where the step runs, so a replayed graph counts too)
};

template <class S>
struct agd_step_scalars {
  const double* squared_norms;  // per slice, from the backend's segmented sum
  const double* slice_scales;   // per slice: its weight's sqrt(d_k/d_{k-1}) (Appendix B scale)
  const std::uint32_t* slice_weight;  // per slice: the weight k it belongs to
  std::size_t slices;
  std::size_t depth;
  double gain;
  double* slice_norms;       // out, per slice
  double* weight_norms;      // out, per weight
  S* factors;                // out, per slice
  agd_scalars* scalars;      // out
  execution_status* status;  // in/out: an earlier failure in this step (the loss) stops it too

  AGD_HOST_DEVICE void operator()() const {
    for (std::size_t k = 0; k < depth; ++k) weight_norms[k] = 0;
    for (std::size_t s = 0; s < slices; ++s) {
      slice_norms[s] = math::sqrt(squared_norms[s]);
      weight_norms[slice_weight[s]] += squared_norms[s];
    }
    for (std::size_t k = 0; k < depth; ++k) {
      weight_norms[k] = math::sqrt(weight_norms[k]);
      if (!math::is_finite(weight_norms[k]) && status->code == status_code::ok) {
        status->code = status_code::non_finite_gradient;
        status->index = std::int32_t(k);
        status->value = weight_norms[k];
      }
    }
    // G: per weight, the sum of its slices' norms times its scale (Definition 11, Appendix B).
    double summary = 0;
    for (std::size_t s = 0; s < slices;) {
      const std::uint32_t k = slice_weight[s];
      double slice_norm_sum = 0;
      for (; s < slices && slice_weight[s] == k; ++s) slice_norm_sum += slice_norms[s];
      summary += slice_scales[s - 1] * slice_norm_sum;
    }
    const double g = summary / double(depth);
    const double eta = math::log(0.5 * (1.0 + math::sqrt(1.0 + 4.0 * g)));  // Theorem 2
    scalars->gradient_summary = g;
    scalars->eta = eta;
    const bool go = status->code == status_code::ok;
    if (go) scalars->steps += 1;
    for (std::size_t s = 0; s < slices; ++s) {
      const double norm = slice_norms[s];
      factors[s] = go && norm > 0 ? S(gain * eta / double(depth) * slice_scales[s] / norm) : S(0);
    }
  }
};

/// The per-step scalars of the baseline optimisers, computed where the step runs from a step
/// counter kept there (so that the host need not know them, and a replayed graph advances them).
struct baseline_scalars {
  double steps = 0;
  double step_size = 0;         // Adam: lr / (1 - beta1^t); SGD: lr
  double inverse_sqrt_bc2 = 0;  // Adam: 1 / sqrt(1 - beta2^t)
  double momentum = 0;          // SGD: 0 on the first step (the buffer starts at the gradient)
};

/// Adam's bias corrections for the step about to be taken (torch.optim.Adam's update).
struct adam_step_scalars {
  baseline_scalars* scalars;
  double lr, beta1, beta2;
  const execution_status* status;
  AGD_HOST_DEVICE void operator()() const {
    if (status->code != status_code::ok) return;  // a failed step is not taken
    const double t = scalars->steps + 1;
    scalars->steps = t;
    scalars->step_size = lr / (1.0 - math::pow(beta1, t));
    scalars->inverse_sqrt_bc2 = 1.0 / math::sqrt(1.0 - math::pow(beta2, t));
  }
};

/// SGD's momentum for the step about to be taken: PyTorch starts the buffer at the first
/// gradient rather than at zero, i.e. the first step uses momentum 0.
struct sgd_step_scalars {
  baseline_scalars* scalars;
  double lr, momentum;
  const execution_status* status;
  AGD_HOST_DEVICE void operator()() const {
    if (status->code != status_code::ok) return;
    scalars->momentum = scalars->steps > 0 ? momentum : 0.0;
    scalars->step_size = lr;
    scalars->steps += 1;
  }
};

/// For the optimisers that keep no norms: marks the step failed if a weight's gradient is not
/// finite (its squared norm, summed in double, is finite exactly when every element is).
struct gradient_finite_check {
  const double* squared_norms;  // per weight
  std::size_t depth;
  execution_status* status;
  AGD_HOST_DEVICE void operator()() const {
    for (std::size_t k = 0; k < depth; ++k)
      if (!math::is_finite(squared_norms[k]) && status->code == status_code::ok) {
        status->code = status_code::non_finite_gradient;
        status->index = std::int32_t(k);
        status->value = squared_norms[k];
      }
  }
};

}  // namespace agd
