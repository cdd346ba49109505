"""Panoptic quality of COCO panoptic files: real data and random sets against a NumPy
reference and panopticapi live (where importable), errors, the PNG reader."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from ioukit.evaluate import panoptic_evaluate
from tests.helpers.panoptic import (
    PANOPTICAPI_DIR,
    TF_DIR,
    assert_matches_reference,
    chunk,
    random_image,
    rgb2id,
    write_set,
)

PIL = pytest.importorskip("PIL.Image")


# ------------------------------------------------------------ files: real data


def test_tf_models_files(shared_data):
    d = shared_data / TF_DIR
    r = panoptic_evaluate(d / "coco_gt.json", d / "coco_pred.json")
    assert r.images == 4 and r.groups["All"]["n"] == 6
    assert_matches_reference(
        r, d / "coco_gt.json", d / "coco_pred.json", d / "coco_gt", d / "coco_pred"
    )
    table = r.summary()
    assert table.splitlines()[0] == "          |    PQ     SQ     RQ     N"
    assert "All       |  67.4   68.3   82.1     6" in table
    out = r.as_dict()
    assert set(out) >= {"All", "Things", "Stuff", "per_class"}
    assert out["per_class"][1]["tp"] == 12 and out["per_class"][1]["name"] == "person"
    json.dumps(out)


def test_panopticapi_sample(shared_data, tmp_path):
    d = shared_data / PANOPTICAPI_DIR
    gt_json = d / "panoptic_examples.json"
    gt_folder = d / "panoptic_examples"
    r = panoptic_evaluate(gt_json, gt_json, gt_folder, gt_folder)  # itself: every segment matches
    assert r.pq == 1.0 and r.fp.sum() == 0 and r.fn.sum() == 0
    gt = json.loads(gt_json.read_text())
    # a prediction: the ids shifted 7 px right, one segment relabelled, one dropped to void
    images = []
    for ann in gt["annotations"]:
        ids = rgb2id(np.asarray(PIL.open(gt_folder / ann["file_name"]).convert("RGB")))
        ids = np.roll(ids, 7, axis=1)
        segs = [dict(s) for s in ann["segments_info"]]
        ids[ids == segs[-1]["id"]] = 0
        segs = segs[:-1]
        segs[0]["category_id"] = segs[1]["category_id"]
        images.append((ann["file_name"], ids, segs))
    ids = [a["image_id"] for a in gt["annotations"]]
    pred_json = write_set(tmp_path, "pred", images, image_ids=ids)
    r = panoptic_evaluate(gt_json, pred_json, gt_folder, tmp_path / "pred")
    assert 0 < r.pq < 1
    assert_matches_reference(r, gt_json, pred_json, gt_folder, tmp_path / "pred")


# ------------------------------------------------------------ synthetic sets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_files_against_reference(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n_cats = 4
    cats = [{"id": c, "isthing": int(c % 2 == 1), "name": f"c{c}"} for c in range(1, n_cats + 1)]
    gts, preds = [], []
    for k in range(6):
        h, w = rng.integers(8, 30, 2) * 4
        gt, pred, gs, ps = random_image(rng, h, w, int(rng.integers(2, 25)), n_cats)
        gts.append((f"{k}.png", gt, gs))
        preds.append((f"{k}.png", pred, ps))
    gt_json = write_set(tmp_path, "gt", gts, cats)
    pred_json = write_set(tmp_path, "pred", preds)
    r = panoptic_evaluate(gt_json, pred_json, workers=3)
    assert_matches_reference(r, gt_json, pred_json, tmp_path / "gt", tmp_path / "pred")
    assert panoptic_evaluate(gt_json, pred_json, workers=1).per_class == r.per_class


# ------------------------------------------------------------ file errors


@pytest.fixture
def small_set(tmp_path):
    ids = np.zeros((4, 6), np.int64)
    ids[:, :3] = 1
    ids[:, 3:] = 300
    segs = [
        {"id": 1, "category_id": 1, "iscrowd": 0, "area": 12},
        {"id": 300, "category_id": 2, "iscrowd": 0, "area": 12},
    ]
    cats = [{"id": 1, "isthing": 1, "name": "a"}, {"id": 2, "isthing": 0, "name": "b"}]

    def make(gt_ids=ids, gt_segs=segs, pred_ids=ids, pred_segs=segs, extra=None):
        gt_json = write_set(tmp_path, "gt", [("x.png", gt_ids, gt_segs)], cats)
        pred_json = write_set(tmp_path, "pred", [("x.png", pred_ids, pred_segs)])
        if extra:
            data = json.loads(pred_json.read_text())
            extra(data)
            pred_json.write_text(json.dumps(data))
        return gt_json, pred_json

    return make, ids, segs


def test_file_errors(small_set, tmp_path):
    make, ids, segs = small_set
    assert panoptic_evaluate(*make()).pq == 1.0
    bad = ids.copy()
    bad[2, 5] = 77
    with pytest.raises(
        ValueError, match=r"image_id 1: segment id 77 \(at x=5, y=2\) is in the PNG .*pred"
    ):
        panoptic_evaluate(*make(pred_ids=bad))
    with pytest.raises(ValueError, match=r"segment id 77 .* is in the PNG .*gt"):
        panoptic_evaluate(*make(gt_ids=bad))
    with pytest.raises(
        ValueError, match=r"prediction segment ids \[5\] are in segments_info but not"
    ):
        panoptic_evaluate(*make(pred_segs=[*segs, {"id": 5, "category_id": 1}]))
    with pytest.raises(ValueError, match=r"ground truth segment ids \[5\]"):
        panoptic_evaluate(*make(gt_segs=[*segs, {"id": 5, "category_id": 1, "area": 1}]))
    with pytest.raises(ValueError, match="segment 300 has unknown category_id 9"):
        panoptic_evaluate(*make(pred_segs=[segs[0], {"id": 300, "category_id": 9}]))
    with pytest.raises(ValueError, match="duplicate segment id 1"):
        panoptic_evaluate(*make(pred_segs=[*segs, segs[0]]))
    with pytest.raises(ValueError, match="segment id 0 is outside"):
        panoptic_evaluate(*make(gt_segs=[*segs, {"id": 0, "category_id": 1, "area": 1}]))
    with pytest.raises(ValueError, match=r"is 5x4 but the ground truth .* is 6x4"):
        panoptic_evaluate(*make(pred_ids=ids[:, :5]))
    with pytest.raises(ValueError, match="two predictions for image_id 1"):
        panoptic_evaluate(*make(extra=lambda d: d["annotations"].append(d["annotations"][0])))
    with pytest.raises(ValueError, match="no prediction for the image with id 1"):
        panoptic_evaluate(*make(extra=lambda d: d["annotations"][0].update(image_id=2)))
    with pytest.raises(ValueError, match="category_id of segment 1 must be an integer"):
        panoptic_evaluate(*make(pred_segs=[{"id": 1, "category_id": "a"}, segs[1]]))
    gt_json, pred_json = make()
    with pytest.raises(ValueError, match="is not valid JSON"):
        (tmp_path / "broken.json").write_text("{")
        panoptic_evaluate(gt_json, tmp_path / "broken.json", pred_folder=tmp_path / "pred")
    with pytest.raises(ValueError, match="is not a folder"):
        panoptic_evaluate(gt_json, pred_json, pred_folder=tmp_path / "nope")
    with pytest.raises(ValueError, match="workers must be an integer"):
        panoptic_evaluate(gt_json, pred_json, workers=0)
    import struct
    import zlib

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 6, 4, 8, 2, 0, 0, 0))
    rows = b"".join(bytes([7 if y == 2 else 0]) + bytes(18) for y in range(4))
    png = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(rows))
    (tmp_path / "pred" / "x.png").write_bytes(png + chunk(b"IEND", b""))
    with pytest.raises(ValueError, match=r"pred/x.png: corrupt PNG \(row 2 has an unknown filter"):
        panoptic_evaluate(gt_json, pred_json)
    rgba = np.zeros((4, 6, 4), np.uint8)  # RGBA is read too (alpha ignored)
    rgba[:, :3, 0], rgba[:, 3:, 0], rgba[:, 3:, 1], rgba[..., 3] = 1, 300 % 256, 1, 255
    PIL.fromarray(rgba).save(tmp_path / "pred" / "x.png")
    assert panoptic_evaluate(gt_json, pred_json).pq == 1.0
    (tmp_path / "pred" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n trunc")
    with pytest.raises(ValueError, match="truncated PNG"):
        panoptic_evaluate(gt_json, pred_json)
    (tmp_path / "pred" / "x.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="cannot read"):
        panoptic_evaluate(gt_json, pred_json)
    PIL.fromarray(np.zeros((4, 6), np.uint8)).save(tmp_path / "pred" / "x.png")
    with pytest.raises(ValueError, match="is a 'L' image"):
        panoptic_evaluate(gt_json, pred_json)


def test_file_quirks_of_panopticapi(small_set):
    """The JSON area of a gt segment is used as is, pred id 0 can be a segment, only the
    last crowd segment of a category excuses false positives, progress is reported."""
    make, ids, segs = small_set
    gt_ids = ids.copy()
    gt_ids[:2, :3] = 2  # two crowd segments of category 1
    gt_segs = [
        {"id": 1, "category_id": 1, "iscrowd": 1, "area": 6},
        {"id": 2, "category_id": 1, "iscrowd": 1, "area": 6},
        {"id": 300, "category_id": 2, "iscrowd": 0, "area": 20},  # the JSON says 20, not 12
    ]
    pred_ids = ids.copy()
    pred_ids[:2, :3] = 0  # pred segment 0 lies on gt crowd 2, segment 1 on gt crowd 1
    pred_segs = [{"id": 0, "category_id": 1}, {"id": 1, "category_id": 1}, segs[1]]
    seen = []
    r = panoptic_evaluate(
        *make(gt_ids, gt_segs, pred_ids, pred_segs), progress=lambda d, n: seen.append((d, n))
    )
    assert seen == [(1, 1)]
    assert r.iou[1] == 12 / 20 and r.tp.tolist() == [0, 1]
    # crowd 2 (the last) excuses pred 0; pred 1 lies on crowd 1 only: a false positive
    assert r.fp.tolist() == [1, 0] and r.fn.tolist() == [0, 0]


def test_missing_pillow_message(monkeypatch, small_set):
    import builtins

    make = small_set[0]
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    paths = make()
    grey = np.zeros((4, 6), np.uint8)  # not RGB: only Pillow reads it
    PIL.fromarray(grey).save(paths[1].parent / "pred" / "x.png")
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"ioukit\[image\]"):
        panoptic_evaluate(*paths)


# ------------------------------------------------------------ the PNG reader


@pytest.fixture(params=["zlib", "libdeflate"])
def inflater(request, monkeypatch):
    """The PNG reader with zlib, and with libdeflate where ``deflate`` is installed."""
    from ioukit.evaluate import panoptic_png

    if request.param == "zlib":
        monkeypatch.setattr(panoptic_png, "LIBDEFLATE", None)
    elif panoptic_png.LIBDEFLATE is None:
        pytest.skip("the deflate package (libdeflate) is not installed")
    return request.param


def _png(arr, **kw):
    buf = io.BytesIO()
    PIL.fromarray(arr).save(buf, format="PNG", **kw)
    return buf.getvalue()


def test_png_reader_equals_pillow(inflater):
    from ioukit.evaluate.panoptic_png import read_pixels

    rng = np.random.default_rng(0)
    for k in range(40):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        ch = 3 if k % 2 else 4
        if k % 3 == 0:
            arr = rng.integers(0, 256, (h, w, ch), dtype=np.uint8)  # noise: every filter type
        elif k % 3 == 1:
            small = rng.integers(0, 256, (h // 5 + 1, w // 5 + 1, ch), dtype=np.uint8)
            arr = np.repeat(np.repeat(small, 5, 0), 5, 1)[:h, :w]
        else:
            ramp = np.add.outer(np.arange(h), 3 * np.arange(w))[..., None] * np.arange(1, ch + 1)
            arr = ramp.astype(np.uint8)
        arr = np.ascontiguousarray(arr)
        for kw in ({}, {"optimize": True}, {"compress_level": 0}):
            np.testing.assert_array_equal(read_pixels(_png(arr, **kw), "x.png"), arr)


def test_png_reader_errors(inflater):
    import struct
    import zlib

    from ioukit.evaluate.panoptic_png import NotFastPng, read_pixels

    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    rows = b"\x00" + bytes(6) + b"\x07" + bytes(6)  # filter type 7 on row 1
    good = sig + ihdr + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="row 1 has an unknown filter type"):
        read_pixels(good, "a.png")
    short = sig + ihdr + chunk(b"IDAT", zlib.compress(rows[:9])) + chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="truncated PNG image data"):
        read_pixels(short, "a.png")
    bad_zlib = sig + ihdr + chunk(b"IDAT", b"xx" + zlib.compress(rows)) + chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="corrupt PNG image data"):
        read_pixels(bad_zlib, "a.png")
    flipped = bytearray(good)
    flipped[20] ^= 1
    with pytest.raises(ValueError, match="bad CRC"):
        read_pixels(bytes(flipped), "a.png")
    with pytest.raises(ValueError, match="truncated PNG"):
        read_pixels(good[:40], "a.png")
    huge = sig + chunk(b"IHDR", struct.pack(">IIBBBBB", 1 << 20, 1 << 20, 8, 2, 0, 0, 0))
    with pytest.raises(ValueError, match="too large"):
        read_pixels(huge + chunk(b"IEND", b""), "a.png")
    with pytest.raises(ValueError, match="IHDR of 3 bytes"):
        read_pixels(sig + chunk(b"IHDR", b"abc"), "a.png")
    with pytest.raises(NotFastPng):  # interlaced: left to Pillow
        laced = chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 1))
        read_pixels(sig + laced + chunk(b"IDAT", b"") + chunk(b"IEND", b""), "a")
    with pytest.raises(NotFastPng):
        read_pixels(_png(np.zeros((3, 3), np.uint8)), "grey.png")


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("side", ["gt", "pred"])
def test_bad_filter_row_names_the_file(small_set, tmp_path, monkeypatch, sparse, side):
    """A row with an unknown PNG filter type, on either side, counted densely (rows
    unfiltered and counted at once) or sparsely (id maps first)."""
    import struct
    import zlib

    from ioukit.evaluate import panoptic_core

    make, ids, segs = small_set
    gt_json, pred_json = make()
    rgb = np.stack([ids & 255, (ids >> 8) & 255, ids >> 16], -1).astype(np.uint8)
    rows = b"".join(bytes([0 if y != 2 else 9]) + rgb[y].tobytes() for y in range(4))
    header = struct.pack(">IIBBBBB", 6, 4, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    (tmp_path / side / "x.png").write_bytes(png + chunk(b"IEND", b""))
    if sparse:
        monkeypatch.setattr(panoptic_core, "DENSE_CELLS", 1)
    with pytest.raises(
        ValueError, match=rf"{side}/x.png: corrupt PNG \(row 2 has an unknown filter"
    ):
        panoptic_evaluate(gt_json, pred_json)


def test_png_reader_more_data_than_the_header(inflater):
    """Image data longer than the header's size is an error, whether inflated in one
    call (a short stream) or by the bounded call (a stream that could inflate far)."""
    import struct
    import zlib

    from ioukit.evaluate.panoptic_png import read_pixels

    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    end = chunk(b"IEND", b"")
    short = zlib.compress(bytes(15))  # one byte more than 2 rows of 1 + 6
    with pytest.raises(ValueError, match="more image data than its 2x2 pixels"):
        read_pixels(sig + ihdr + chunk(b"IDAT", short) + end, "a.png")
    noise = np.random.default_rng(0).integers(0, 256, 1 << 16, dtype=np.uint8).tobytes()
    long = zlib.compress(noise, 0)  # 64 KiB that might inflate to 64 MiB: the bounded call
    # (libdeflate stops at the limit with an error that does not say why)
    message = "more image data" if inflater == "zlib" else "corrupt PNG image data"
    with pytest.raises(ValueError, match=message):
        read_pixels(sig + ihdr + chunk(b"IDAT", long) + end, "a.png")


def test_png_one_shot_inflate_never_passes_the_header_or_32_mib(monkeypatch):
    """zlib's one-shot call is taken only when the stream's length bounds its output
    by the header's size (or by 32 MiB for a small image): a short stream under a
    large header goes to the bounded call, so a hostile file cannot make the reader
    allocate several times the image."""
    import struct
    import zlib

    from ioukit.evaluate import panoptic_png

    monkeypatch.setattr(panoptic_png, "LIBDEFLATE", None)
    one_shot = []
    real = zlib.decompress
    monkeypatch.setattr(
        panoptic_png.zlib, "decompress", lambda *a, **k: one_shot.append(1) or real(*a, **k)
    )

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    side = 3000  # RGBA: 36,003,000 bytes of rows, past the 32 MiB of the small-image rule
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0))
    expected = side * (1 + 4 * side)
    stream = zlib.compress(bytes(2 * expected), 9)  # inflates to twice the header's size
    assert len(stream) * 1032 > expected + 1  # could inflate past the header
    png = b"\x89PNG\r\n\x1a\n" + ihdr + chunk(b"IDAT", stream) + chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="more image data"):
        panoptic_png.read_pixels(png, "big.png")
    assert not one_shot
