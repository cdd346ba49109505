"""The threshold (sparse) kernels compile few variants (issue 12): the front casts
every input to one type per float dtype, so a new dtype, flag array or offset does
not cost another compile of ``count_pairs`` / ``fill_pairs`` / ``_visit``."""

from __future__ import annotations

import numpy as np

import ioukit
from tests.helpers.boxes import random_boxes


def test_sparse_kernels_compile_one_variant_per_float_dtype(rng):
    from ioukit.kernels import cpu_sparse as k

    a, b = random_boxes(rng, 30, scale=50), random_boxes(rng, 20, scale=50)
    flags = np.broadcast_to(np.array([True, False]), (10, 2)).reshape(20)  # a read-only view
    for dtype in (np.float64, np.float32, np.float16, np.int16, np.int64):
        aa, bb = a.astype(dtype), b.astype(dtype)
        for options in ({}, {"crowd": flags}, {"crowd": list(flags)}, {"pixel_offset": 1}):
            got = ioukit.box_iou(aa, bb, threshold=0.25, **options)
            dense = ioukit.box_iou(aa, bb, **options)
            np.testing.assert_array_equal(got.toarray(), np.where(dense >= 0.25, dense, 0))
    ioukit.box_iou(a.astype(np.float32), b, threshold=1)  # mixed dtypes, an int threshold
    assert len(k.count_pairs.signatures) <= 2, k.count_pairs.signatures
    assert len(k.fill_pairs.signatures) <= 2, k.fill_pairs.signatures
    assert len(k.build_grid.signatures) <= 2, k.build_grid.signatures
    # a callee loaded with its caller from the on-disk cache lists no signatures; when
    # compiled here: float32 / float64 x the count and the fill pass
    assert len(k._visit.signatures) <= 4, k._visit.signatures
