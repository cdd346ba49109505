"""Optional backends (CUDA, Dask), imported only when such inputs arrive."""
