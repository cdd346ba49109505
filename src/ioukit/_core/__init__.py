"""Shared machinery: array kinds and dispatch, validation, dtypes, numba set-up."""
