// Must not compile: a convolution first, with no agd::Input<C, H, W> to give it an image size.
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Conv2d<1, 8, 3>, agd::GlobalAvgPool, agd::Dense<8, 10>>;

int main() {
  return Net::depth == 2 ? 0 : 1;
}
