"""Hostile RLE and polygon input: overflowing run sums, empty counts, zero-length runs,
far-away and non-finite polygon coordinates, huge sizes (issue 11). Calls that
crashed the interpreter before the fix run in a subprocess."""

from __future__ import annotations

import numpy as np
import pytest

import ioukit
from ioukit import rle
from ioukit._masks.rleset import from_counts_list, to_dicts
from tests.helpers.masks import random_polygon
from tests.helpers.safety import run_isolated

# 64 runs of 2**58 add up to 2**64, which wraps to 0 in int64: with a last run of
# 4 the sum "is" h * w = 4 for a 2 x 2 mask. Compressed, this is 109 bytes.
WRAPPING = [2**58] * 64 + [4]


def wrapping_string(h: int = 2, w: int = 2) -> dict:
    counts = np.array(WRAPPING[:-1] + [h * w], dtype=np.int64)
    return to_dicts(from_counts_list([h], [w], [counts]))[0]


def test_wrapping_string_is_the_issue_case():
    assert len(wrapping_string()["counts"]) == 109
    assert int(np.array(WRAPPING, dtype=np.int64).sum()) == 4  # it does wrap


def test_overflowing_run_sums_are_errors_in_every_function():
    reports = run_isolated(
        """
        import ioukit
        from ioukit import rle
        from ioukit._masks.rleset import from_counts_list, to_dicts
        counts = np.array([2**58] * 64 + [4], dtype=np.int64)
        s = to_dicts(from_counts_list([2], [2], [counts]))[0]
        u = {"size": [2, 2], "counts": [2**62] * 4 + [4]}
        u2 = {"size": [3, 4], "counts": [0, 2**62, 2**62, 2**62, 2**62, 12]}
        good = rle.encode(np.eye(2, dtype=bool))
        for label, d in (("string", s), ("list", u), ("list2", u2)):
            report(label + " area", lambda: rle.area(d))
            report(label + " decode", lambda: rle.decode(d))
            report(label + " to_bbox", lambda: rle.to_bbox(d))
            report(label + " merge", lambda: rle.merge([d, d]))
            report(label + " iou", lambda: ioukit.mask_iou([d, good], [good, d]))
            report(label + " crowd iou", lambda: ioukit.mask_iou([d], [d], crowd=[True]))
            report(label + " from_uncompressed", lambda: rle.from_uncompressed(d))
        """
    )
    assert len(reports) == 21
    for label, r in reports.items():
        assert not r["ok"], label
        assert r["type"] == "ValueError", label
        assert "do not add up to h * w" in r["message"], label


@pytest.mark.parametrize(
    "size",
    [[-1, 4], [4, -1], [2**40 + 1, 1], [1, 2**41], [2**31, 2**31], [2**70, 1], [3.5, 2]],
)
def test_sizes_are_checked_before_anything_is_allocated(size):
    with pytest.raises(ValueError, match="item 0 has size"):
        rle.area({"size": size, "counts": [0]})
    with pytest.raises(ValueError, match="item 1 has size"):
        rle.decode([{"size": [1, 1], "counts": b"1"}, {"size": size, "counts": b"0"}])


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_infinite_and_deeply_nested_sizes_are_value_errors():
    # were OverflowError (int(inf)) and RecursionError (repr of the size in the message)
    with pytest.raises(ValueError, match=r"item 0 has size \[inf, 1\], expected \[height, width\]"):
        rle.area({"size": [float("inf"), 1], "counts": [0]})
    with pytest.raises(ValueError, match=r"item 0 has size \[1, \[\[\[\.\.\.\]\]\]\]"):
        rle.area({"size": [1, _nested(100_000)], "counts": [0]})
    with pytest.raises(ValueError, match=r"rle.from_bbox: h and w must be .* got h=inf, w=2"):
        rle.from_bbox([0, 0, 1, 1], float("inf"), 2)
    with pytest.raises(ValueError, match=r"got h=\[\[\[\[\.\.\.\]\]\]\], w=2"):
        rle.from_bbox([0, 0, 1, 1], _nested(100_000), 2)


def test_image_sizes_of_the_builders_are_checked():
    with pytest.raises(ValueError, match="too large"):
        rle.from_polygons([[0, 0, 1, 0, 1, 1]], 2**40 + 1, 2)
    with pytest.raises(ValueError, match="too large"):
        rle.from_bbox([0, 0, 1, 1], 2**31, 2**31)
    with pytest.raises(ValueError, match=r"rle.from_bbox: image size h=2, w=9223372036854775808"):
        rle.from_bbox([0, 0, 1, 1], 2, 2**63)  # was an RLE of size [2, -2**63]
    with pytest.raises(ValueError, match="too large"):
        rle.from_segmentation([[0, 0, 1, 0, 1, 1]], 2**61, 1)


def test_merge_of_empty_counts_does_not_read_past_them():
    reports = run_isolated(
        """
        from ioukit import rle
        e = {"size": [0, 0], "counts": []}
        report("empty", lambda: rle.merge([e, e]))
        report("empty and", lambda: rle.merge([e, e, e], intersect=True))
        report("zero width", lambda: rle.merge([{"size": [3, 0], "counts": b""}] * 2))
        report("one", lambda: rle.merge([e]))
        """,
        timeout=300,
    )
    for label in ("empty", "empty and", "zero width"):
        assert reports[label]["ok"], reports[label]
        assert "b'0'" in reports[label]["value"]  # pycocotools encodes h * w = 0 as [0]
    assert reports["one"]["ok"]


def test_merge_of_zero_length_runs_terminates_and_matches_decode(rng):
    """Non-canonical but valid counts (zero-length runs anywhere): merge in a child
    with a timeout (it used to loop forever on some), compared with NumPy."""
    rles = []
    for _ in range(12):
        h, w = 3, 4
        cuts = np.sort(rng.integers(0, h * w + 1, size=int(rng.integers(0, 9))))
        counts = np.diff(np.r_[0, cuts, h * w]).tolist()
        rles.append({"size": [h, w], "counts": counts})
    masks = rle.decode(rles)
    for intersect in (False, True):
        merged = rle.merge(rles, intersect=intersect)
        expected = masks.all(axis=0) if intersect else masks.any(axis=0)
        np.testing.assert_array_equal(rle.decode(merged), expected)
        counts = rle_counts(merged)
        assert (counts[1:] > 0).all()  # canonical, as pycocotools' merge


def rle_counts(d: dict) -> np.ndarray:
    from ioukit._masks.rleset import parse_rles

    parsed, _ = parse_rles(d, "d", "test")
    return parsed.counts


def random_zero_run_rles(rng, n: int, h: int, w: int) -> list[dict]:
    out = []
    for _ in range(n):
        cuts = np.sort(rng.integers(0, h * w + 1, size=int(rng.integers(1, 10))))
        counts = np.diff(np.r_[0, cuts, h * w])
        zeros = rng.random(counts.shape[0]) < 0.3
        counts = np.insert(counts, np.flatnonzero(zeros), 0)  # zero-length runs
        out.append({"size": [h, w], "counts": counts.tolist()})
    return out


def bbox_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_to_bbox_with_zero_length_runs_agrees_with_decode(rng):
    rles = random_zero_run_rles(rng, 300, 5, 7)
    boxes = rle.to_bbox(rles)
    masks = rle.decode(rles)
    for i in range(len(rles)):
        assert boxes[i].tolist() == bbox_of(masks[i]), rles[i]
    # the issue's cases: a zero-length last run gave x = -1 and a width past the image
    assert rle.to_bbox({"size": [2, 2], "counts": [4, 0]}).tolist() == [0, 0, 0, 0]
    assert rle.to_bbox({"size": [2, 2], "counts": [2, 0, 2]}).tolist() == [0, 0, 0, 0]
    assert rle.to_bbox({"size": [2, 2], "counts": [1, 1, 0, 0, 2]}).tolist() == [0, 1, 1, 1]


def test_to_bbox_with_zero_length_runs_matches_pycocotools(rng):
    mask_utils = pytest.importorskip("pycocotools.mask")
    rles = random_zero_run_rles(rng, 300, 6, 5)
    ours = rle.to_bbox(rles)
    theirs = mask_utils.toBbox(mask_utils.frPyObjects(rles, 6, 5))
    nonempty = rle.area(rles) > 0  # pycocotools' box of an empty mask with zero runs wraps
    assert nonempty.sum() > 200
    np.testing.assert_array_equal(ours[nonempty], theirs[nonempty])


def test_huge_polygon_coordinates_are_errors_not_crashes():
    reports = run_isolated(
        """
        from ioukit import rle
        report("3e18", lambda: rle.from_polygons([[0, 0, 3e18, 0, 0, 3e18]], 10, 10))
        report("-2e18", lambda: rle.from_polygons([[0, 0, -2e18, 5, 5, 5]], 10, 10))
        report("segm", lambda: rle.from_segmentation([[1, 1, 4, 1, 4e18, 4]], 10, 10))
        report("bbox", lambda: rle.from_bbox([0, 0, 2e18, 2e18], 10, 10))
        report("1e7", lambda: rle.from_polygons([[-1e7, -1e7, 1e7, -1e7, 1e7, 1e7, -1e7, 1e7]], 10, 10))
        """
    )
    for label in ("3e18", "-2e18", "segm"):
        assert reports[label]["type"] == "ValueError", reports[label]
        assert "polygon 0 has coordinate" in reports[label]["message"]
        assert "within +-1e+15" in reports[label]["message"]
    assert reports["bbox"]["type"] == "ValueError"
    assert "box 0" in reports["bbox"]["message"]
    assert "'counts': b'0T3'" in reports["1e7"]["value"]  # the whole image


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_polygon_coordinates_name_the_polygon(bad):
    poly = [1.0, 1.0, 4.0, 1.0, 4.0, 4.0]
    with pytest.raises(ValueError, match="polygon 1 has coordinate 3 = "):
        rle.from_polygons([poly, poly[:3] + [bad] + poly[4:]], 5, 5)
    with pytest.raises(ValueError, match="item 0 polygon 0 has coordinate 0"):
        rle.from_segmentation([[bad] + poly[1:]], 5, 5)


def test_far_polygons_take_memory_of_the_image_not_of_the_coordinates():
    """Before the fix, vertices near 1e7 on a 10 x 10 image materialised every point of
    the boundary walk (gigabytes). Capped at 200 MB more than the warm interpreter."""
    reports = run_isolated(
        """
        from ioukit import rle
        rle.from_polygons([[0, 0, 5, 0, 5, 5]], 10, 10)  # compile first
        cap_memory(200 * 2**20)
        far = [-1e7, -3e6, 2e7, 4.5, 3.3, 1e7, -9e6, 8e6]
        report("far", lambda: rle.area(rle.from_polygons([far], 10, 10)[0]))
        report("farther", lambda: rle.area(rle.from_polygons([[-1e14, 5, 1e14, 5.5, 3, 1e14]], 10, 10)[0]))
        """
    )
    assert reports["far"]["ok"], reports["far"]
    assert reports["farther"]["ok"], reports["farther"]
    assert int(reports["farther"]["value"]) > 0


def _far_polygon(rng, h: int, w: int) -> list[float]:
    k = int(rng.integers(3, 9))
    scale = [1.0, 20.0, 300.0, 3000.0][int(rng.integers(0, 4))]
    pts = rng.uniform(-scale, scale, (k, 2)) + [w / 2, h / 2]
    if rng.random() < 0.3:
        pts = np.round(pts)
    if rng.random() < 0.3:
        pts[int(rng.integers(0, k))] = pts[0]  # a repeated vertex
    if rng.random() < 0.3:
        pts[1, 0] = pts[0, 0] + rng.uniform(-1, 1)  # a long, nearly vertical edge
    if rng.random() < 0.2:
        pts[1, 1] = pts[0, 1] + rng.uniform(-1, 1)  # a long, nearly horizontal edge
    return pts.ravel().tolist()


def test_polygons_far_outside_the_image_match_pycocotools(rng):
    mask_utils = pytest.importorskip("pycocotools.mask")
    for _ in range(20):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        polys = [_far_polygon(rng, h, w) for _ in range(10)]
        polys += [random_polygon(rng, h, w) for _ in range(3)]
        ours = rle.from_polygons(polys, h, w)
        theirs = mask_utils.frPyObjects(polys, h, w)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert a["counts"] == b["counts"], (h, w, polys[i])


def test_from_segmentation_validate_flag():
    bad = {"size": [2, 2], "counts": [1, 1]}
    with pytest.raises(ValueError, match="do not add up"):
        rle.from_segmentation(bad, 2, 2)
    assert rle.from_segmentation(bad, 2, 2, validate=False) == {"size": [2, 2], "counts": b"11"}
    mask_utils = pytest.importorskip("pycocotools.mask")
    assert mask_utils.frPyObjects(bad, 2, 2)["counts"] == b"11"  # passed through unchecked
    # compressed strings are always checked (a corrupt one cannot be decoded)
    with pytest.raises(ValueError, match="do not add up"):
        rle.from_segmentation({"size": [2, 2], "counts": b"11"}, 2, 2, validate=False)


def test_mask_iou_of_wrapping_counts_in_the_fast_reader_path():
    """The compiled counts reader shares the check: strings in a list of dicts."""
    s = wrapping_string(3, 5)
    with pytest.raises(ValueError, match="item 1 has a corrupt RLE: the run lengths do not"):
        ioukit.mask_iou([rle.encode(np.ones((3, 5), bool)), s], [s])


@pytest.mark.parametrize("where", ["results", "ground truth"])
def test_eval_segm_with_huge_polygon_coordinates_fails_cleanly(tmp_path, where):
    """``ioukit eval --iou-type segm`` used to crash (SIGSEGV / malloc) on these."""
    import json
    import subprocess
    import sys

    from tests.helpers.safety import SRC

    square = [1.0, 1.0, 6.0, 1.0, 6.0, 6.0, 1.0, 6.0]
    huge = [1.0, 1.0, 3e18, 1.0, 6.0, 2e18]
    gt = {
        "images": [{"id": 1, "height": 10, "width": 10}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [huge if where == "ground truth" else square],
                "area": 25.0,
                "bbox": [1, 1, 5, 5],
                "iscrowd": 0,
            }
        ],
    }
    dt = [
        {
            "image_id": 1,
            "category_id": 1,
            "score": 0.9,
            "segmentation": [huge if where == "results" else square],
        }
    ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    env = {**__import__("os").environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-m", "ioukit", "eval", "gt.json", "dt.json", "--iou-type", "segm"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode > 0, proc.stderr  # an error exit, not a signal
    assert "polygon 0 has coordinate" in proc.stderr + proc.stdout


def test_kernels_clip_unchecked_counts():
    """Defence in depth: the kernels that sum runs clip them to h * w themselves, so
    even counts that bypassed the checks (wrapping sums, negative or missing runs)
    terminate and stay inside the image."""
    reports = run_isolated(
        """
        from ioukit.kernels import cpu_rle, cpu_masks
        from ioukit._masks.intervals import rle_intervals
        from ioukit._masks.rleset import RLESet, from_counts_list
        bad = [[2**58] * 64 + [4], [-5, 9, 2**62, 1], [1], [], [0, 2**63 - 1, 2**63 - 1]]
        rles = from_counts_list([2] * 5, [2] * 5, [np.array(c, np.int64) for c in bad])
        areas = rles.areas()
        report("areas", lambda: areas.tolist())
        boxes = np.empty((5, 4))
        cpu_rle.bboxes_from_counts(rles.counts, rles.offsets, rles.heights, rles.widths, boxes)
        report("boxes", lambda: boxes.tolist())
        for k in range(5):
            part = from_counts_list([2, 2], [2, 2], [np.array(bad[k], np.int64), np.array([1, 2, 1])])
            merged = cpu_rle.merge_counts(part.counts, part.offsets, np.int64(4), False)
            report(f"merge {k}", lambda: [int(merged.sum()), int(merged.min())])
        sets = rle_intervals(rles)
        ends = [e for i in range(5) for e in sets[1][sets[2][i] : sets[2][i] + sets[3][i]]]
        report("intervals", lambda: [int(max(ends, default=0))])
        """,
        timeout=300,
    )
    areas = eval(reports["areas"]["value"])
    assert all(0 <= a <= 4 for a in areas)
    for box in eval(reports["boxes"]["value"]):
        x, y, w, h = box
        assert 0 <= x and 0 <= y and x + w <= 2 and y + h <= 2
    for k in range(5):
        total, smallest = eval(reports[f"merge {k}"]["value"])
        assert total == 4 and smallest >= 0
    assert eval(reports["intervals"]["value"])[0] <= 4
