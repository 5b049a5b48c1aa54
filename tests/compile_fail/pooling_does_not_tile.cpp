// Must not compile: 2x2 windows with stride 2 leave a pixel over on a 7x7 image.
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 8, 3>, agd::MaxPool2d<2>,
                            agd::MaxPool2d<2>, agd::MaxPool2d<2>, agd::Flatten, agd::Dense<72, 10>>;

int main() {
  return Net::depth == 2 ? 0 : 1;
}
