/*
 * host_device.h -- MG_HOST_DEVICE marks a function that the C core and the
 * CUDA kernels both call: __host__ __device__ under nvcc, nothing for gcc.
 */
#ifndef MINIGRAD_HOST_DEVICE_H
#define MINIGRAD_HOST_DEVICE_H

#ifdef __CUDACC__
#define MG_HOST_DEVICE __host__ __device__
#else
#define MG_HOST_DEVICE
#endif

#endif /* MINIGRAD_HOST_DEVICE_H */
