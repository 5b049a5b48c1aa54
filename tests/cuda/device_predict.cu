// test_cuda_predict.cpp built by nvcc for the device system (the CUDA build's test_cuda_device,
// and tools/gpu_check.sh): predict, evaluate and save_weights against the CPU backend, on a GPU.
#include "../test_cuda_predict.cpp"
