"""The compiled reader of result files gives exactly what the JSON parser gives, and
steps aside (returns None) for anything unusual."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ioukit._masks.rleset import parse_rles
from ioukit.evaluate.readers import read_detections, read_ground_truth
from ioukit.evaluate.results_reader import _scan, read_results_file

VAL2014 = "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
FILES = [
    (VAL2014, "cocoapi/results/instances_val2014_fakebbox100_results.json", "bbox"),
    (VAL2014, "cocoapi/results/instances_val2014_fakesegm100_results.json", "segm"),
    (
        "detectron2/tests/data/test_coco_evaluation__gt_annotations.json",
        "detectron2/tests/data/test_coco_evaluation__detections.json",
        "bbox",
    ),
    (
        "detectron2/tests/data/test_coco_evaluation__gt_annotations.json",
        "detectron2/tests/data/test_coco_evaluation__detections.json",
        "segm",
    ),
]


@pytest.mark.parametrize("gt_path,dt_path,iou_type", FILES)
def test_same_arrays_as_the_json_parser(shared_data, gt_path, dt_path, iou_type):
    truth = read_ground_truth(shared_data / gt_path, iou_type)
    fast = read_results_file(shared_data / dt_path, truth, iou_type)
    assert fast is not None
    slow = read_detections(json.loads((shared_data / dt_path).read_text()), truth, iou_type)
    for name in ("image", "category", "scores", "areas"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    if slow.boxes is not None:
        np.testing.assert_array_equal(fast.boxes, slow.boxes)
    if iou_type == "segm":
        expected, _ = parse_rles(slow.segmentations, "x", "test")
        np.testing.assert_array_equal(fast.rles.counts, expected.counts)
        np.testing.assert_array_equal(fast.rles.offsets, expected.offsets)


def write(tmp_path, text):
    path = tmp_path / "dt.json"
    path.write_text(text)
    return path


GT = {"images": [{"id": 1, "height": 4, "width": 4}], "categories": [{"id": 1}], "annotations": []}


@pytest.fixture(params=["standard", "fast"])
def both_paths(request, monkeypatch):
    """Run a test with the small-file path (the standard json module alone) and with
    the large-file path (the compiled results scanner, orjson behind its guard), by
    moving the size threshold: both must accept, refuse and word errors alike."""
    from ioukit.evaluate import readers

    if request.param == "fast":
        monkeypatch.setattr(readers, "FAST_JSON_BYTES", 0)
    return request.param


@pytest.mark.parametrize(
    "text",
    [
        '[{"image_id": "1", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',  # string id
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]',  # no score
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "score": 0.5}]',  # bad box
        '[{"image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',  # unknown image
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}]',  # short box
        '[{"image_\\u0069d": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',  # escaped key
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}',  # truncated
        '{"annotations": []}',
        "[]",
    ],
)
def test_unusual_files_take_the_ordinary_path(both_paths, tmp_path, text):
    truth = read_ground_truth(GT, "bbox")
    assert read_results_file(write(tmp_path, text), truth, "bbox") is None


def test_extra_fields_whitespace_and_escaped_counts(tmp_path):
    truth = read_ground_truth(dict(GT, images=[{"id": 1, "height": 20, "width": 20}]), "segm")
    text = (  # the counts string of published case B1: a backslash, escaped in JSON
        '[ {"id": 9, "extra": {"a": [1, "x]", {"b": null}]}, "image_id": 1, "category_id": 1,\n'
        '   "segmentation": {"size": [20, 20], "counts": "\\\\14`00000000P8"}, "score": 1e-1} ]'
    )
    fast = read_results_file(write(tmp_path, text), truth, "segm")
    slow = read_detections(json.loads(text), truth, "segm")
    assert fast is not None and fast.scores.tolist() == slow.scores.tolist() == [0.1]
    expected, _ = parse_rles(slow.segmentations, "x", "test")
    np.testing.assert_array_equal(fast.rles.counts, expected.counts)


BOX = '{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}'


@pytest.mark.parametrize(
    "text",
    [
        f"[{BOX},]",  # trailing comma in the array
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5,}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1,], "score": 0.5}]',
        '[{"image_id": 01, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": .5}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": +0.5}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1e}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": "\\q"}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": "a\tb"}]',
        # a raw control character inside a key (fuzz case results_files:0:929)
        '[{"image_id": 1, "image_i\x0cd": true, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": "\\u12"}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": tru}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": [1 2]}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": {"a" 1}}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5, "x": "abc}]',
        f"[{BOX}] x",  # garbage after the value
        f"[{BOX}]]",
        f"[{BOX}",  # unterminated
        f"[{BOX},",
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": NaN}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": Infinity}]',
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": -Infinity}]',
        "",
    ],
)
def test_invalid_json_is_refused_by_both_readers(both_paths, tmp_path, text):
    truth = read_ground_truth(GT, "bbox")
    path = write(tmp_path, text)
    assert read_results_file(path, truth, "bbox") is None
    with pytest.raises(ValueError, match=r"detections file '.*dt\.json' is not valid JSON"):
        read_detections(path, truth, "bbox")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_files_not_in_utf8_are_refused(both_paths, tmp_path, encoding):
    # RFC 8259 8.1 and pycocotools: UTF-8 only (fuzz case results_files:0:329)
    truth = read_ground_truth(GT, "bbox")
    path = tmp_path / "dt.json"
    path.write_bytes(f"[{BOX}]".encode(encoding))
    with pytest.raises(ValueError, match=r"detections file '.*dt\.json' is not valid JSON"):
        read_detections(path, truth, "bbox")


@pytest.mark.parametrize(
    "key,first,last",
    [
        ("image_id", "7", "1"),
        ("category_id", "1", "2"),
        ("score", "0.9", "0.1"),
        ("bbox", "[0, 0, 1, 1]", "[1, 1, 2, 2]"),
    ],
)
def test_duplicate_keys_the_last_one_wins(both_paths, tmp_path, key, first, last):
    fields = {"image_id": "1", "category_id": "1", "bbox": "[0, 0, 1, 1]", "score": "0.5"}
    fields[key] = last
    body = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    text = f'[{{"{key}": {first}, {body}}}]'
    truth = read_ground_truth(GT, "bbox")
    path = write(tmp_path, text)
    assert read_results_file(path, truth, "bbox") is None  # unsure: the JSON parser decides
    got = read_detections(path, truth, "bbox")
    want = read_detections(json.loads(text), truth, "bbox")
    for name in ("image", "category", "scores", "boxes"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_duplicate_counts_score_as_pycocotools(tmp_path):
    """Regression: the compiled reader concatenated duplicate "counts" ("0" + "88" is
    the ground truth's mask [0, 8, 8]) and scored AP 1.0; JSON's last key ("88", the
    other half of the image) gives pycocotools AP 0.0."""
    pytest.importorskip("pycocotools")
    from ioukit.evaluate import coco_evaluate
    from tests.helpers.coco import pycocotools_eval

    gt = {
        "images": [{"id": 1, "height": 4, "width": 4}],
        "categories": [{"id": 1}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "area": 8,
                "iscrowd": 0,
                "bbox": [0, 0, 2, 4],
                "segmentation": {"size": [4, 4], "counts": [0, 8, 8]},
            },
        ],
    }
    text = (
        '[{"image_id": 1, "category_id": 1, "score": 0.9,'
        ' "segmentation": {"size": [4, 4], "counts": "0", "counts": "88"}}]'
    )
    path = write(tmp_path, text)
    stats, _, _ = pycocotools_eval(gt, json.loads(text), "segm")
    ours = coco_evaluate(gt, path, "segm")
    assert stats[0] == 0.0
    np.testing.assert_array_equal(ours.stats, stats)


@pytest.mark.parametrize(
    "detection,message",
    [
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": "0.5"}',
            r"detection 1 \(id \?\) has score='0.5', expected a number",
        ),
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": true}',
            r"detection 1 \(id \?\) has score=True, expected a number",
        ),
        (
            '{"image_id": 1, "category_id": "1", "bbox": [0, 0, 1, 1], "score": 0.5}',
            r"detection 1 \(id \?\) has category_id='1', expected an integer",
        ),
        (
            '{"image_id": 1, "category_id": 1.5, "bbox": [0, 0, 1, 1], "score": 0.5}',
            r"detection 1 \(id \?\) has category_id=1.5, expected an integer",
        ),
        (
            '{"image_id": 1, "category_id": 99999999999999999999, "bbox": [0, 0, 1, 1], "score": 0.5}',
            r"detection 1 \(id \?\) has category_id=99999999999999999999, expected an integer",
        ),
        (
            '{"image_id": 99999999999999999999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}',
            r"detection 1 has image id 99999999999999999999, which does not fit in int64",
        ),
        (
            '{"image_id": "99999999999999999999", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}',
            r"detection 1 has image id '99999999999999999999', which does not fit in int64",
        ),
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}',
            r"detection 1 \(id \?\) has bbox \[0, 0, 1\], expected \[x, y, w, h\]",
        ),
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, [1], 1], "score": 0.5}',
            r"detection 1 \(id \?\) has bbox \[0, 0, \[1\], 1\], expected \[x, y, w, h\]",
        ),
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, "1", 1], "score": 0.5}',
            r"detection 1 \(id \?\) has bbox \[0, 0, '1', 1\], expected \[x, y, w, h\]",
        ),
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1e400, 1], "score": 0.5}',
            r"coco_evaluate: argument 'detection' has an invalid xywh box at row 1: .*not finite",
        ),
        (
            '{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1e400}',
            r"detection 1 has score inf",
        ),
        ("[1, 2]", r"detection 1 is a list, not an object"),
    ],
)
def test_wrong_types_name_the_file_and_the_result(both_paths, tmp_path, detection, message):
    truth = read_ground_truth(GT, "bbox")
    path = write(tmp_path, f"[{BOX}, {detection}]")
    with pytest.raises(ValueError, match=r"detections file '.*dt\.json': " + message):
        read_detections(path, truth, "bbox")


def test_mask_only_results_for_bbox_evaluation(tmp_path):
    """The compiled reader derives boxes (toBbox) and areas (mask area) as loadRes."""
    truth = read_ground_truth(dict(GT, images=[{"id": 1, "height": 4, "width": 4}]), "bbox")
    text = '[{"image_id": 1, "category_id": 1, "score": 0.5, "segmentation": {"size": [4, 4], "counts": "52203"}}]'
    fast = read_results_file(write(tmp_path, text), truth, "bbox")
    slow = read_detections(json.loads(text), truth, "bbox")
    assert fast is not None
    from ioukit import rle

    segm = json.loads(text)[0]["segmentation"]
    np.testing.assert_array_equal(fast.boxes, [rle.to_bbox(segm)])
    np.testing.assert_array_equal(fast.areas, [rle.area(segm)])
    np.testing.assert_array_equal(slow.boxes, fast.boxes)
    np.testing.assert_array_equal(slow.areas, fast.areas)


def test_smallest_results_fit_the_arrays(tmp_path):
    """The per-result arrays hold len(file) // 40 + 1 results: the smallest valid
    results (no spaces) still fit, so the compiled reader takes them."""
    truth = read_ground_truth(GT, "bbox")
    text = '{"image_id":1,"category_id":1,"score":1}'
    path = write(tmp_path, "[" + ",".join([text] * 50) + "]")
    fast = read_results_file(path, truth, "segm")
    assert fast is None  # segm needs masks: the ordinary path decides
    raw = path.read_bytes()
    found = _scan(raw, False)
    assert found is not None and len(found[2]) == 50
    assert _scan(b"[" + b"{}," * 1000 + b"{}]", False) is None


@pytest.mark.parametrize(
    "number,kind",
    [("99999999999999999999", "int"), ("-9223372036854775809", "int"), ("1.5", "float")],
)
def test_orjson_reads_only_what_it_reads_like_json(both_paths, number, kind):
    """Integers past 64 bits come back as floats from orjson and as integers from the
    standard parser: the guard sends such files to the standard parser, so the value
    (and an error quoting it) is the same on both paths."""
    from ioukit.evaluate.readers import parse_json

    raw = ("[" + " " * (1 << 20) + number + "]").encode()  # past the size threshold
    value = parse_json(raw, "case")[0]
    assert value == json.loads(raw)[0] and type(value).__name__ == kind


def test_small_files_never_compile_the_json_kernels(tmp_path):
    """Below FAST_JSON_BYTES neither the compiled scanner nor the orjson guard runs."""
    from unittest import mock

    from ioukit.evaluate import readers

    truth = read_ground_truth(GT, "bbox")
    path = write(tmp_path, f"[{BOX}]")
    with mock.patch.object(readers, "read_results_file", side_effect=AssertionError):
        dets = read_detections(path, truth, "bbox")
    assert dets.scores.tolist() == [0.5]
    with mock.patch("ioukit.kernels.cpu_json.orjson_unsafe", side_effect=AssertionError):
        assert readers.parse_json(path.read_bytes(), "case")[0]["score"] == 0.5


def test_fast_readers_start_later_in_a_process_without_numba(monkeypatch):
    """A fresh process reads files up to 16 MiB with json alone (cheaper than importing
    numba); once numba is imported, the fast readers take files from 1 MiB on."""
    import sys

    from ioukit.evaluate import readers

    monkeypatch.setitem(sys.modules, "numba", sys.modules.get("numba", object()))
    assert readers._fast_from() == readers.FAST_JSON_BYTES_NUMBA == 1 << 20
    monkeypatch.delitem(sys.modules, "numba")
    assert readers._fast_from() == readers.FAST_JSON_BYTES == 16 << 20
