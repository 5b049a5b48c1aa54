// Must not compile: the second convolution expects 16 input channels, the first produces 32.
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 32, 3>, agd::Relu,
                            agd::Conv2d<16, 64, 3>, agd::GlobalAvgPool, agd::Dense<64, 10>>;

int main() {
  return Net::depth == 3 ? 0 : 1;
}
