"""Runtime: numba threading layers and caches, warm-up, compile status, the asv suite."""
