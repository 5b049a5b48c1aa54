// The umbrella header: #include <agd/agd.hpp> gives the whole CPU library.
#pragma once

#include "agd/core/errors.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/math.hpp"
#include "agd/core/matrix.hpp"
#include "agd/core/shape.hpp"

#include "agd/layers/activation.hpp"
#include "agd/layers/batch_norm.hpp"
#include "agd/layers/conv2d.hpp"
#include "agd/layers/dense.hpp"
#include "agd/layers/flatten.hpp"
#include "agd/layers/input.hpp"
#include "agd/layers/pooling.hpp"
#include "agd/layers/relu.hpp"

#include "agd/network/architecture.hpp"
#include "agd/network/fcn.hpp"
#include "agd/network/residual.hpp"
#include "agd/network/sequential.hpp"

#include "agd/loss/accuracy.hpp"
#include "agd/loss/cross_entropy.hpp"
#include "agd/loss/evaluate.hpp"
#include "agd/loss/mse_loss.hpp"
#include "agd/loss/square_loss.hpp"

#include "agd/init/kaiming_uniform.hpp"
#include "agd/init/orthogonal.hpp"

#include "agd/optim/adam.hpp"
#include "agd/optim/agd.hpp"
#include "agd/optim/optimizer.hpp"
#include "agd/optim/sgd.hpp"

#include "agd/io/checkpoint.hpp"
#include "agd/io/safetensors.hpp"

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/conv2d.hpp"
#include "agd/backend/eigen/run_layer.hpp"
#include "agd/backend/eigen/threads.hpp"
