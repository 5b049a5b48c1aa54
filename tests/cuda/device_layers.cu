// test_cuda_layers.cpp built by nvcc for the device system (the CUDA build's test_cuda_device, and
// tools/gpu_check.sh): the same parity checks as the host-system build, on a GPU.
#include "../test_cuda_layers.cpp"
