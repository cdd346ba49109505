"""Semantic segmentation confusion matrix: ioukit against NumPy's bincount.

``python -m benchmarks.peers.semantic --frames 20`` makes Cityscapes-size label
maps (1024 x 2048, uint8, 19 classes, ignore 255): irregular class regions
(nearest of 60 random seeds), about 8 % ignored, and a prediction that is the
target shifted by a few pixels with some regions relabelled. It times the whole
accumulation both ways and prints pixels per second and the ratio.

``--case noise`` makes the worst case of the run-length kernels instead: every
pixel an independent label (uniform over the 19 classes, about 8 % ignored), so no
two neighbours share a (target, prediction) pair; ``--dtype int32`` times the
generic kernel instead of the uint8 one.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.inputs import label_maps, noise_label_maps
from benchmarks.timing import fmt_seconds, median_seconds
from ioukit.semantic import SegmentationIoU, confusion_matrix


def read_ceiling():
    """A parallel Numba pass that only reads both arrays (a sum over 64-bit words):
    the memory-read ceiling for any kernel that must look at every label."""
    import numba

    @numba.njit(parallel=True, nogil=True)
    def read_both(a, b):
        acc = np.uint64(0)
        for i in numba.prange(a.shape[0]):
            acc += a[i] ^ b[i]
        return acc

    return read_both


def numpy_bincount(target, pred, classes, ignore):
    valid = target != ignore
    keys = target[valid].astype(np.int64) * classes + pred[valid]
    return np.bincount(keys, minlength=classes * classes).reshape(classes, classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--case", choices=("maps", "noise"), default="maps")
    parser.add_argument("--dtype", choices=("uint8", "int32"), default="uint8")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    target, pred = (label_maps if args.case == "maps" else noise_label_maps)(rng, args.frames)
    if args.dtype != "uint8":
        target, pred = target.astype(args.dtype), pred.astype(args.dtype)
    pixels = target.size
    assert np.array_equal(
        confusion_matrix(target, pred, 19, 255), numpy_bincount(target, pred, 19, 255)
    )

    def streamed():
        metric = SegmentationIoU(19, ignore_index=255)
        for t, p in zip(target, pred, strict=True):
            metric.update(t, p)
        return metric.compute()

    ours_batch = median_seconds(lambda: confusion_matrix(target, pred, 19, 255), repeat=7)
    ours_stream = median_seconds(streamed, repeat=7)
    reference = median_seconds(lambda: numpy_bincount(target, pred, 19, 255), repeat=3)
    read_both = read_ceiling()
    words_t = target.reshape(-1).view(np.uint64)
    words_p = pred.reshape(-1).view(np.uint64)
    read = median_seconds(lambda: read_both(words_t, words_p), repeat=7)
    what = "label maps" if args.case == "maps" else "per-pixel noise"
    print(
        f"# {what}: {args.frames} frames of 1024 x 2048 {args.dtype}, 19 classes, ignore 255: {pixels / 1e6:.0f} M pixels"
    )
    print("| method | time | pixels/s | NumPy bincount / this |")
    print("|---|---|---|---|")
    for name, t in (
        ("ioukit confusion_matrix (one batch call)", ours_batch),
        ("ioukit SegmentationIoU (update per frame + compute)", ours_stream),
        ("NumPy bincount (mask, combine, bincount)", reference),
        ("read ceiling: a parallel pass that only reads both arrays", read),
    ):
        print(f"| {name} | {fmt_seconds(t)} | {pixels / t / 1e9:.2f} G | {reference / t:.1f}x |")


if __name__ == "__main__":
    main()
