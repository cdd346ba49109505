"""Backends: the CUDA kernels (numba's simulator) and the Dask front-ends."""
