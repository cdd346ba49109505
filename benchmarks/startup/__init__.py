"""Whole processes: import, first call, cold and warm numba cache, compile profile."""
