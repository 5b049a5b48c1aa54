// Net::summary() returns the text rather than printing it: calling it as a statement is a
// mistake, and with warnings as errors it does not compile.
#pragma GCC diagnostic error "-Wunused-result"
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Dense<4, 8>, agd::Relu, agd::Dense<8, 2>>;

int main() {
  Net::summary();  // refused: print it, e.g. std::cout << Net::summary()
}
