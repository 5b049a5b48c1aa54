// The umbrella header: #include <agd/agd.hpp> gives the whole CPU library: networks, layers,
// losses, optimisers, data loaders (agd::data), the training loop and prediction (agd::train,
// agd::predict, agd::evaluate) and checkpoints (agd::io). The GPU backend
// (agd/backend/cuda/) is included separately, by code compiled with nvcc.
#pragma once

#include "agd/core/errors.hpp"
#include "agd/core/expression.hpp"
#include "agd/core/kernel.hpp"
#include "agd/core/layer.hpp"
#include "agd/core/math.hpp"
#include "agd/core/matrix.hpp"
#include "agd/core/result.hpp"
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
#include "agd/sequential.hpp"

#include "agd/loss/accuracy.hpp"
#include "agd/loss/cross_entropy.hpp"
#include "agd/loss/evaluate.hpp"
#include "agd/loss/mse_loss.hpp"
#include "agd/loss/softmax.hpp"
#include "agd/loss/square_loss.hpp"

#include "agd/init/kaiming_uniform.hpp"
#include "agd/init/orthogonal.hpp"

#include "agd/optim/adam.hpp"
#include "agd/optim/agd.hpp"
#include "agd/optim/optimizer.hpp"
#include "agd/optim/sgd.hpp"

#include "agd/data/arrays.hpp"
#include "agd/data/batches.hpp"
#include "agd/data/cifar.hpp"
#include "agd/data/csv.hpp"
#include "agd/data/dataset.hpp"
#include "agd/data/idx.hpp"
#include "agd/data/preprocessing.hpp"

#include "agd/train/fit.hpp"
#include "agd/train/position.hpp"
#include "agd/train/predict.hpp"
#include "agd/train/progress.hpp"
#include "agd/train/stop.hpp"

#include "agd/io/atomic_file.hpp"
#include "agd/io/checkpoint.hpp"
#include "agd/io/csv.hpp"
#include "agd/io/file_checks.hpp"
#include "agd/io/safetensors.hpp"

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/batch_norm.hpp"
#include "agd/backend/eigen/conv2d.hpp"
#include "agd/backend/eigen/pooling.hpp"
#include "agd/backend/eigen/run_layer.hpp"
#include "agd/backend/eigen/threads.hpp"
