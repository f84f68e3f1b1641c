// SL4J_HD marks a function that nvcc compiles for both the host and the device; under g++ it is
// empty. The per-element and per-block formulas (quant/dequant_group.h, core/kernel_math.h) carry
// it, so the CPU kernels and the CUDA kernels call one implementation of each formula.
#pragma once

#if defined(__CUDACC__)
#define SL4J_HD __host__ __device__
#else
#define SL4J_HD
#endif
