// Must not compile: Flatten gives 32*14*14 = 6272 features, the Dense layer expects 6000.
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 32, 3>, agd::Relu,
                            agd::MaxPool2d<2>, agd::Flatten, agd::Dense<6000, 10>>;

int main() {
  return Net::depth == 2 ? 0 : 1;
}
