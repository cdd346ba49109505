"""GPU timings: ioukit's CUDA kernels against CuPy / torch equivalents where installed.

Run by ``benchmarks/gpu/check.sh`` on a machine with an NVIDIA GPU. Every timing
synchronises the device before the clock starts and before it stops; medians of
repeated runs are reported.
"""

from __future__ import annotations

import time

import numpy as np


def timed(fn, sync, repeat: int = 10) -> float:
    fn()
    sync()
    samples = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def main() -> None:
    from numba import cuda

    import ioukit
    from ioukit.semantic import confusion_matrix

    sync = cuda.synchronize
    rng = np.random.default_rng(0)
    print(
        f"# {cuda.get_current_device().name.decode() if isinstance(cuda.get_current_device().name, bytes) else cuda.get_current_device().name}"
    )
    print("| task | ioukit | peer | peer time | peer / ioukit |")
    print("|---|---|---|---|---|")
    n = 20_000
    xy = rng.random((2, n, 2), dtype=np.float32) * 1000
    boxes = np.concatenate([xy, xy + rng.random((2, n, 2), dtype=np.float32) * 100], axis=-1)
    a, b = cuda.to_device(boxes[0]), cuda.to_device(boxes[1])
    out = cuda.device_array((n, n), dtype=np.float32)
    t = timed(lambda: ioukit.box_iou(a, b, out=out, validate=False), sync)
    floor = n * n * 4
    print(
        f"| box_iou {n:,} x {n:,} f32 (out=, no validation) | {t * 1e3:.2f} ms ({n * n / t / 1e9:.0f} G pairs/s, writes {floor / t / 1e9:.0f} GB/s) | | | |"
    )
    t_val = timed(lambda: ioukit.box_iou(a, b, out=out), sync)
    print(f"| box_iou {n:,} x {n:,} f32 (out=, validated) | {t_val * 1e3:.2f} ms | | | |")
    try:
        import torch
        import torchvision.ops as ops

        ta, tb = torch.from_numpy(boxes[0]).cuda(), torch.from_numpy(boxes[1]).cuda()
        tt = timed(lambda: ops.box_iou(ta, tb), torch.cuda.synchronize)
        ti = timed(lambda: ioukit.box_iou(ta, tb), torch.cuda.synchronize)
        print(
            f"| box_iou torch in, torch out | {ti * 1e3:.2f} ms | torchvision box_iou | {tt * 1e3:.2f} ms | {tt / ti:.1f}x |"
        )
    except ImportError:
        print("| box_iou | | torchvision | not installed | |")

    masks_a = (rng.random((500, 480, 640)) < 0.02).astype(np.uint8)
    masks_b = (rng.random((500, 480, 640)) < 0.02).astype(np.uint8)
    da, db = cuda.to_device(masks_a), cuda.to_device(masks_b)
    t = timed(lambda: ioukit.mask_iou(da, db), sync, repeat=3)
    print(f"| dense mask_iou 500 x 500 of 480 x 640 | {t * 1e3:.1f} ms | | | |")
    try:
        import cupy

        ca, cb = (
            cupy.asarray(masks_a.reshape(500, -1), dtype=cupy.float32),
            cupy.asarray(masks_b.reshape(500, -1), dtype=cupy.float32),
        )

        def cupy_iou():
            inter = ca @ cb.T
            return inter / (ca.sum(1)[:, None] + cb.sum(1)[None, :] - inter)

        tc = timed(cupy_iou, cupy.cuda.Device().synchronize, repeat=3)
        print(
            f"| dense mask_iou | {t * 1e3:.1f} ms | CuPy float32 matmul | {tc * 1e3:.1f} ms | {tc / t:.1f}x |"
        )
    except ImportError:
        pass

    labels = rng.integers(0, 19, (20, 1024, 2048)).astype(np.uint8)
    dt_, dp = cuda.to_device(labels), cuda.to_device(np.roll(labels, 3, axis=2))
    t = timed(lambda: confusion_matrix(dt_, dp, 19, 255), sync, repeat=5)
    print(
        f"| confusion matrix 20 x 1024 x 2048 u8, 19 classes | {t * 1e3:.2f} ms ({labels.size / t / 1e9:.1f} G px/s) | | | |"
    )
    try:
        import torch

        tl, tp = (
            torch.from_numpy(labels).cuda(),
            torch.from_numpy(np.roll(labels, 3, axis=2)).cuda(),
        )

        def torch_bincount():
            valid = tl != 255
            return torch.bincount(tl[valid].long() * 19 + tp[valid].long(), minlength=361)

        tb_ = timed(torch_bincount, torch.cuda.synchronize, repeat=5)
        print(
            f"| confusion matrix | {t * 1e3:.2f} ms | torch bincount | {tb_ * 1e3:.2f} ms | {tb_ / t:.1f}x |"
        )
    except ImportError:
        pass


if __name__ == "__main__":
    main()
