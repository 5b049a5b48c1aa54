// The Eigen kernels of agd's CPU backend for float networks, compiled once: the GEMM of every
// dense layer's forward and backward pass and the QR decomposition of the orthogonal
// initialisation. Programs that link the CMake target agd::eigen_kernels get
// AGD_EXTERN_EIGEN_KERNELS, which declares these instantiations extern in the headers, so their
// own translation units do not compile Eigen's product and QR kernels again (a large part of
// the compile time of a unit that trains a network). Header-only use needs none of this.
#ifndef AGD_EXTERN_EIGEN_KERNELS
#error \
    "compile src/eigen_kernels.cpp with AGD_EXTERN_EIGEN_KERNELS (CMake target agd::eigen_kernels)"
#endif

#include "agd/backend/eigen/backend.hpp"
#include "agd/init/orthogonal.hpp"

namespace agd {

template void eigen::cpu::gemm<float>(eigen::cpu::context&, bool, bool, std::size_t, std::size_t,
                                      std::size_t, float, const float*, std::size_t, const float*,
                                      std::size_t, float, float*, std::size_t);
template void init::semi_orthogonal<float>(float*, Eigen::Index, Eigen::Index, double,
                                           std::mt19937_64&);

}  // namespace agd
