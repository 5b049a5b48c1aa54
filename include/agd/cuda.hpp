// The CUDA backend's umbrella header: the whole library (agd.hpp) and what runs a network on an
// NVIDIA GPU. Compile with nvcc (or with a host compiler and Thrust's host device system, as the
// CPU-only tests do):
//
//   #include <agd/cuda.hpp>
//   using Net = agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;
//   Net::on<agd::cuda::device> net(128);     // the same network, its buffers on the device
//   agd::AGD optimizer(net);                  // the same optimiser
//   agd::train::fit(net, optimizer, agd::MSELoss{}, train, test, options);  // the same loop
#pragma once

#include "agd/agd.hpp"

#include "agd/backend/cuda/backend.hpp"
#include "agd/backend/cuda/conv2d.hpp"
#include "agd/backend/cuda/graph.hpp"
#include "agd/backend/cuda/runtime.hpp"
#include "agd/train/cuda_batch_loader.hpp"
