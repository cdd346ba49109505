"""NMS: ioukit.nms against torchvision.ops.nms (when installed), a NumPy greedy NMS
(the classic vectorised loop of Fast R-CNN's ``py_cpu_nms``, written here) and
supervision's ``box_non_max_suppression`` (small N only: it forms the N x N matrix).

Run ``python -m benchmarks.peers.nms`` (``--sizes 20000``). Two box layouts: detector
output (clusters of jittered proposals around objects) and uniform random boxes.
The kept indices of every peer are checked against ioukit's before timing.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import ioukit
from benchmarks.timing import fmt_seconds, median_seconds


def clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` boxes as ~10 jittered proposals around each of ``n / 10`` objects."""
    objects = max(1, n // 10)
    xy = rng.random((objects, 2)) * 2000
    wh = rng.random((objects, 2)) * 150 + 10
    pick = rng.integers(0, objects, n)
    jitter = rng.normal(0, 0.1, (n, 4)) * np.c_[wh[pick], wh[pick]]
    boxes = np.c_[xy[pick], xy[pick] + wh[pick]] + jitter
    return np.c_[np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])]


def uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.random((n, 2)) * 2000
    return np.c_[xy, xy + rng.random((n, 2)) * 100 + 1]


def numpy_greedy(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS, one vectorised IoU row per kept box (float32, torchvision's rule)."""
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0) * (y1 - y0)
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        h = np.maximum(0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = w * h
        iou = inter / (area[i] + area[rest] - inter)
        order = rest[~(iou > threshold)]
    return np.array(keep, dtype=np.int64)


def compiled_scan():
    """torchvision's CPU algorithm (every later box tested against each kept box, the
    suppressed ones skipped) compiled with numba: a stand-in for the C++ kernel where
    torchvision is not installed."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def scan(x0, y0, x1, y1, area, order, threshold):
        n = order.shape[0]
        suppressed = np.zeros(n, dtype=np.uint8)
        keep = np.empty(n, dtype=np.int64)
        count = 0
        for a in range(n):
            i = order[a]
            if suppressed[i]:
                continue
            keep[count] = i
            count += 1
            for b in range(a + 1, n):
                j = order[b]
                if suppressed[j]:
                    continue
                w = max(np.float32(0), min(x1[i], x1[j]) - max(x0[i], x0[j]))
                h = max(np.float32(0), min(y1[i], y1[j]) - max(y0[i], y0[j]))
                inter = w * h
                if inter / (area[i] + area[j] - inter) > threshold:
                    suppressed[j] = 1
        return keep[:count]

    def run(boxes, scores, threshold):
        x0, y0, x1, y1 = (np.ascontiguousarray(boxes[:, k]) for k in range(4))
        order = np.argsort(-scores.astype(np.float64), kind="stable")
        return scan(x0, y0, x1, y1, (x1 - x0) * (y1 - y0), order, threshold)

    return run


def peers(boxes: np.ndarray, scores: np.ndarray, threshold: float):
    yield "NumPy greedy (f32)", lambda: numpy_greedy(boxes, scores, threshold)
    try:
        import torchvision  # noqa: F401
    except ImportError:
        run = compiled_scan()
        yield "torchvision's CPU loop, numba-compiled (f32)", lambda: run(boxes, scores, threshold)
    try:
        import torch
        import torchvision

        tb, ts = torch.from_numpy(boxes), torch.from_numpy(scores)
        name = f"torchvision {torchvision.__version__} nms (f32, {torch.get_num_threads()} threads)"
        yield name, lambda: torchvision.ops.nms(tb, ts, threshold).numpy()
    except ImportError:
        pass
    if len(boxes) <= 5000:
        try:
            from supervision.detection.utils.iou_and_nms import box_non_max_suppression

            preds = np.c_[boxes, scores]
            yield (
                "supervision box_non_max_suppression",
                lambda: np.flatnonzero(box_non_max_suppression(preds, threshold)),
            )
        except ImportError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000])
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}"
    )
    rng = np.random.default_rng(0)
    print("| layout | N | kept | ioukit.nms | peer | peer time | peer / ioukit | same result |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        for layout, make in (("clustered", clustered), ("uniform", uniform)):
            boxes = make(rng, n).astype(np.float32)
            scores = rng.random(n).astype(np.float32)
            ours = ioukit.nms(boxes, scores, args.threshold)
            t = median_seconds(
                lambda b=boxes, s=scores: ioukit.nms(b, s, args.threshold), repeat=args.repeat
            )
            head = f"| {layout} | {n:,} | {len(ours):,} | {fmt_seconds(t)} "
            for name, fn in peers(boxes, scores, args.threshold):
                got = np.asarray(fn())
                same = (
                    np.array_equal(np.sort(got), np.sort(ours))
                    if "supervision" in name
                    else np.array_equal(got, ours)
                )
                tp = median_seconds(fn, repeat=args.repeat)
                print(f"{head}| {name} | {fmt_seconds(tp)} | {tp / t:.1f}x | {same} |")
            rotated = np.c_[
                (boxes[:, :2] + boxes[:, 2:]) / 2,
                boxes[:, 2:] - boxes[:, :2],
                rng.uniform(-90, 90, n),
            ]
            tr = median_seconds(
                lambda b=rotated, s=scores: ioukit.nms(b, s, args.threshold, fmt="cxcywha"),
                repeat=args.repeat,
            )
            print(f"{head}| (ioukit rotated nms, same boxes turned) | {fmt_seconds(tr)} | | |")


if __name__ == "__main__":
    main()
