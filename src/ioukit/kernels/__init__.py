"""Numba kernels. ``scalar`` holds the shared formulas; ``cpu_*`` the CPU loops.

Nothing here is imported by ``import ioukit``: the front-ends import a kernel
module on first use, so importing the package compiles nothing.
"""
