// Net::with_precision<agd::bf16>: the same network computing in mixed precision. Its GEMMs and
// convolutions multiply bfloat16 inputs into float sums (core/precision.hpp); its weights (the
// master copy the optimisers update), gradients, activations, losses, norms, G, eta and updates
// stay float, so a checkpoint of it is a float checkpoint like any other, and a run saved in one
// precision resumes in the other.
//
//   using Net = agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
//   Net::with_precision<agd::bf16> net(128);   // throws on a CPU without bf16 instructions
//
// The precision is part of the type (a bf16 network is not an fp32 one: precision says which,
// at compile time, and only a float network can be made bf16), while its execution is the float
// network's own: the type derives from it and tells the backend at construction (the context's
// precision), which the backend's GEMMs and convolutions read. So a program that trains both
// precisions compiles the network's walk and kernels once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "agd/core/precision.hpp"

namespace agd {

template <class Net, class Precision>
class precision_network : public Net {
  static_assert(precision_for<Precision, typename Net::scalar_type>,
                "agd: Net::with_precision<P>: P is the network's own scalar type, or agd::bf16 "
                "for a float network (bf16 inputs, float sums, float weights); a double network "
                "has no mixed precision");

 public:
  /// The network of the same layers and backend in its own precision.
  using native_network = Net;
  using precision_type = Precision;
  static constexpr compute_precision precision = precision_of<Precision>;

  template <class OtherBackend>
  using on = precision_network<typename Net::template on<OtherBackend>, Precision>;
  template <class P>
  using with_precision = typename Net::template with_precision<P>;

  /// As the native network's constructor; then tells the backend, which throws (in one
  /// sentence, naming what is missing) where this machine cannot multiply in this precision.
  explicit precision_network(std::size_t batch_capacity = 128, std::uint64_t seed = 0)
      : Net(batch_capacity, seed) {
    Net::backend_type::set_compute_precision(this->context(), precision);
  }

  static std::string precision_name() { return agd::precision_name(precision); }
  static std::string summary() {
    return Net::summary() +
           "compute precision: bf16 GEMM and convolution inputs, float sums, "
           "float weights and updates\n";
  }
};

}  // namespace agd
