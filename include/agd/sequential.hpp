// agd::Sequential and agd::FCN: networks on the default backend, the CPU (Eigen, with oneDNN's
// kernels where the build has them). The network types themselves (network/) know no backend;
// this header, above both, names the default and brings in the CPU kernels of the built-in
// layers, so that `#include <agd/sequential.hpp>` is enough to build and run a network.
#pragma once

#include <cstddef>

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/batch_norm.hpp"
#include "agd/backend/eigen/conv2d.hpp"
#include "agd/backend/eigen/pooling.hpp"
#include "agd/layers/relu.hpp"
#include "agd/network/fcn.hpp"
#include "agd/network/sequential.hpp"

namespace agd {

/// The backend a network runs on unless it says otherwise (Net::on<...>).
using default_backend = eigen::cpu;

/// A network of a given scalar type on the default backend.
template <class Scalar, class... Layers>
using basic_sequential = basic_network<Scalar, default_backend, Layers...>;

/// The network type of the public contract: float32 on the default backend.
template <class... Layers>
using Sequential = basic_network<float, default_backend, Layers...>;

/// The paper's fully-connected network (network/fcn.hpp) on the default backend.
template <std::size_t In, std::size_t Width, std::size_t Out, std::size_t Depth,
          class Activation = Sqrt2Relu, class Scalar = float>
using FCN = basic_fcn<default_backend, In, Width, Out, Depth, Activation, Scalar>;

}  // namespace agd
