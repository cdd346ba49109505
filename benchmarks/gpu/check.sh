#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, run the CUDA tests on the real
# device (no simulator) and the CUDA timings. Installs nothing heavy: numba-cuda
# must be present (pip install 'ioukit[cuda]'); torch/torchvision and CuPy are
# used for comparisons when they are installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NUMBA_ENABLE_CUDASIM=0 IOUKIT_CUDA_THREADS=32,8 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python -m pytest -q -p no:cacheprovider tests/backends/test_cuda.py tests/backends/test_rotated_cuda.py \
    tests/nms/test_nms_cuda.py
python -m benchmarks.gpu.bench
