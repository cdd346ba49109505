"""The GPU check: CUDA tests on the device and CUDA timings (check.sh)."""
