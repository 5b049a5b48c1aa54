// The convolutional networks of the examples, as types. Every shape below is checked at compile
// time; Net::summary() prints them.
//
// FashionCNN: a small VGG-style network for 28x28 grey images (no batch norm).
// ResNet18: the pre-activation ResNet-18 of kuangliu/pytorch-cifar, which the paper trains on
//   CIFAR-10 (Section 3.3), with batch norm but no affine parameters and no biases, as the paper
//   does for AGD. Two differences: batch norm normalises by the batch in evaluation too (no
//   running averages, layers/batch_norm.hpp), and the projection shortcuts take the block's input
//   rather than the input after the block's first batch norm and ReLU. The parameter count,
//   11,164,352 in 21 tensors, is PyTorch's for the same network.
// VGG16: kuangliu/pytorch-cifar's VGG-16 (13 convolutions each followed by batch norm and ReLU,
//   one linear head), likewise without affine parameters or biases: 14,715,584 weights.
#pragma once

#include <agd/agd.hpp>

namespace examples {

using FashionCNN =
    agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 32, 3>, agd::Sqrt2Relu, agd::MaxPool2d<2>,
                    agd::Conv2d<32, 64, 3>, agd::Sqrt2Relu, agd::MaxPool2d<2>, agd::Flatten,
                    agd::Dense<64 * 7 * 7, 256>, agd::Sqrt2Relu, agd::Dense<256, 10>>;

/// A pre-activation basic block: x + conv(relu(bn(conv(relu(bn(x)))))), the first convolution
/// carrying the stride; the skip is projected by a 1x1 convolution when the shape changes.
template <std::size_t In, std::size_t Out, std::size_t Stride>
using PreActBlock = agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<In, Out, 3, Stride>,
                                  agd::BatchNorm, agd::Relu, agd::Conv2d<Out, Out, 3>>;

using ResNet18 = agd::Sequential<agd::Input<3, 32, 32>, agd::Conv2d<3, 64, 3>,        //
                                 PreActBlock<64, 64, 1>, PreActBlock<64, 64, 1>,      //
                                 PreActBlock<64, 128, 2>, PreActBlock<128, 128, 1>,   //
                                 PreActBlock<128, 256, 2>, PreActBlock<256, 256, 1>,  //
                                 PreActBlock<256, 512, 2>, PreActBlock<512, 512, 1>,  //
                                 agd::AvgPool2d<4>, agd::Flatten, agd::Dense<512, 10>>;

using VGG16 =
    agd::Sequential<agd::Input<3, 32, 32>,                                                   //
                    agd::Conv2d<3, 64, 3>, agd::BatchNorm, agd::Relu,                        //
                    agd::Conv2d<64, 64, 3>, agd::BatchNorm, agd::Relu, agd::MaxPool2d<2>,    //
                    agd::Conv2d<64, 128, 3>, agd::BatchNorm, agd::Relu,                      //
                    agd::Conv2d<128, 128, 3>, agd::BatchNorm, agd::Relu, agd::MaxPool2d<2>,  //
                    agd::Conv2d<128, 256, 3>, agd::BatchNorm, agd::Relu,                     //
                    agd::Conv2d<256, 256, 3>, agd::BatchNorm, agd::Relu,                     //
                    agd::Conv2d<256, 256, 3>, agd::BatchNorm, agd::Relu, agd::MaxPool2d<2>,  //
                    agd::Conv2d<256, 512, 3>, agd::BatchNorm, agd::Relu,                     //
                    agd::Conv2d<512, 512, 3>, agd::BatchNorm, agd::Relu,                     //
                    agd::Conv2d<512, 512, 3>, agd::BatchNorm, agd::Relu, agd::MaxPool2d<2>,  //
                    agd::Conv2d<512, 512, 3>, agd::BatchNorm, agd::Relu,                     //
                    agd::Conv2d<512, 512, 3>, agd::BatchNorm, agd::Relu,                     //
                    agd::Conv2d<512, 512, 3>, agd::BatchNorm, agd::Relu, agd::MaxPool2d<2>,  //
                    agd::Flatten, agd::Dense<512, 10>>;

}  // namespace examples
