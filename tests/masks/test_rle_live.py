"""RLE codec and mask IoU against pycocotools (and faster-coco-eval), on random and real data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import ioukit
from ioukit import rle
from ioukit._masks import convert
from tests.helpers.masks import ellipse_masks, random_polygon

mask_utils = pytest.importorskip("pycocotools.mask")


def coco_encode(masks):
    return mask_utils.encode(np.asfortranarray(np.moveaxis(masks.astype(np.uint8), 0, -1)))


@pytest.mark.parametrize("h,w", [(48, 64), (1, 7), (33, 1), (0, 5)])
def test_encode_decode_byte_identical(rng, h, w):
    masks = ellipse_masks(rng, 12, h, w) if h and w > 1 else rng.random((5, h, w)) < 0.5
    ours = rle.encode(masks)
    theirs = coco_encode(masks)
    assert [r["counts"] for r in ours] == [r["counts"] for r in theirs]
    assert all(r["size"] == [h, w] for r in ours)
    np.testing.assert_array_equal(rle.decode(theirs), masks)
    np.testing.assert_array_equal(rle.area(theirs), mask_utils.area(theirs))
    np.testing.assert_array_equal(rle.to_bbox(theirs), mask_utils.toBbox(theirs))


def test_random_noise_masks(rng):
    masks = rng.random((8, 31, 17)) < 0.5
    assert [r["counts"] for r in rle.encode(masks)] == [r["counts"] for r in coco_encode(masks)]


def test_polygons_byte_identical(rng):
    for h, w in [(20, 20), (480, 640), (57, 13)]:
        polys = [random_polygon(rng, h, w) for _ in range(60)]
        ours = rle.from_polygons(polys, h, w)
        theirs = mask_utils.frPyObjects(polys, h, w)
        assert [r["counts"] for r in ours] == [r["counts"] for r in theirs]


def test_bbox_rle_byte_identical(rng):
    boxes = np.round(np.hstack([rng.uniform(-10, 60, (40, 2)), rng.uniform(0, 30, (40, 2))]), 2)
    ours = rle.from_bbox(boxes, 50, 45)
    theirs = mask_utils.frPyObjects(boxes, 50, 45)
    assert [r["counts"] for r in ours] == [r["counts"] for r in theirs]


def test_merge_matches(rng):
    masks = ellipse_masks(rng, 6)
    encoded = coco_encode(masks)
    for intersect in (False, True):
        assert (
            rle.merge(encoded, intersect)["counts"]
            == mask_utils.merge(encoded, int(intersect))["counts"]
        )


def test_mask_iou_all_paths_match_pycocotools(rng):
    from scipy import sparse

    a, b = ellipse_masks(rng, 25), ellipse_masks(rng, 18)
    crowd = rng.random(18) < 0.3
    ea, eb = coco_encode(a), coco_encode(b)
    want = mask_utils.iou(ea, eb, crowd.astype(np.uint8).tolist())
    np.testing.assert_array_equal(ioukit.mask_iou(a, b, crowd=crowd), want)
    np.testing.assert_array_equal(ioukit.mask_iou(ea, eb, crowd=crowd), want)
    np.testing.assert_array_equal(ioukit.mask_iou(a, eb, crowd=crowd), want)
    sa, sb = sparse.csr_matrix(a.reshape(25, -1)), sparse.csr_matrix(b.reshape(18, -1))
    np.testing.assert_array_equal(ioukit.mask_iou(sa, sb, crowd=crowd), want)


def test_faster_coco_eval_mask_api(rng):
    fce = pytest.importorskip("faster_coco_eval.core.mask")
    a, b = ellipse_masks(rng, 10), ellipse_masks(rng, 7)
    ea = fce.encode(np.asfortranarray(np.moveaxis(a.astype(np.uint8), 0, -1)))
    eb = fce.encode(np.asfortranarray(np.moveaxis(b.astype(np.uint8), 0, -1)))
    assert [r["counts"] for r in rle.encode(a)] == [r["counts"] for r in ea]
    np.testing.assert_allclose(ioukit.mask_iou(ea, eb), fce.iou(ea, eb, [0] * 7), rtol=1e-15)


def _coco_rle(segm, h, w):
    if isinstance(segm, list):
        return mask_utils.merge(mask_utils.frPyObjects(segm, h, w))
    if isinstance(segm["counts"], list):
        return mask_utils.frPyObjects(segm, h, w)
    return segm


SEGMENTATION_FILES = [
    ("faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json", None),
    ("faster_coco_eval/tests/dataset/gt_dataset.json", None),
    (
        "faster_coco_eval/tests/dataset/dt_dataset.json",
        "faster_coco_eval/tests/dataset/gt_dataset.json",
    ),
    ("faster_coco_eval/tests/lvis_dataset/lvis_val_100.json", None),
    ("detectron2/tests/data/test_coco_evaluation__gt_annotations.json", None),
    (
        "detectron2/tests/data/test_coco_evaluation__detections.json",
        "detectron2/tests/data/test_coco_evaluation__gt_annotations.json",
    ),
    (
        "cocoapi/results/instances_val2014_fakesegm100_results.json",
        "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json",
    ),
    (
        "panopticapi/sample_data/panoptic_coco_detection_format.json",
        "panopticapi/sample_data/panoptic_coco_detection_format.json",
    ),
]


@pytest.mark.parametrize("path,images_from", SEGMENTATION_FILES)
def test_every_shared_segmentation(shared_data, path, images_from):
    data = json.loads((shared_data / path).read_text())
    anns = data["annotations"] if isinstance(data, dict) else data
    image_src = json.loads((shared_data / (images_from or path)).read_text())
    if "images" not in image_src:
        pytest.skip("no image sizes")
    sizes = {img["id"]: (img["height"], img["width"]) for img in image_src["images"]}
    anns = [a for a in anns if a.get("segmentation") and a["image_id"] in sizes]
    assert anns
    hs = [sizes[a["image_id"]][0] for a in anns]
    ws = [sizes[a["image_id"]][1] for a in anns]
    ours = convert.segmentations_to_rles(
        [a["segmentation"] for a in anns], hs, ws, "segmentation", "test"
    )
    theirs = [_coco_rle(a["segmentation"], h, w) for a, h, w in zip(anns, hs, ws, strict=True)]
    ours_dicts = [
        rle.from_segmentation(a["segmentation"], h, w)
        for a, h, w in zip(anns[:20], hs, ws, strict=False)
    ]
    assert [d["counts"] for d in ours_dicts] == [
        t["counts"] if isinstance(t["counts"], bytes) else t["counts"].encode() for t in theirs[:20]
    ]
    from ioukit._masks.rleset import to_dicts

    got = [d["counts"] for d in to_dicts(ours)]
    want = [t["counts"] if isinstance(t["counts"], bytes) else t["counts"].encode() for t in theirs]
    assert got == want
    # pycocotools 2.0.11's area() overflows a uint8 counter past 255 items: compare in chunks
    for k in range(0, len(theirs), 200):
        chunk = theirs[k : k + 200]
        np.testing.assert_array_equal(rle.area(chunk), mask_utils.area(chunk))
        np.testing.assert_array_equal(rle.to_bbox(chunk), mask_utils.toBbox(chunk))
    by_image: dict = {}
    for a, t in zip(anns, theirs, strict=True):
        by_image.setdefault(a["image_id"], []).append((t, int(bool(a.get("iscrowd", 0)))))
    for pairs in list(by_image.values())[:30]:
        masks, crowd = [p[0] for p in pairs], [p[1] for p in pairs]
        np.testing.assert_array_equal(
            ioukit.mask_iou(masks, masks, crowd=crowd), mask_utils.iou(masks, masks, crowd)
        )


def test_fake_results_against_ground_truth(shared_data):
    """Every compressed-RLE fake detection against the ground truth of its image, crowd included."""
    gt = json.loads(
        (
            shared_data / "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
        ).read_text()
    )
    dt = json.loads(
        (shared_data / "cocoapi/results/instances_val2014_fakesegm100_results.json").read_text()
    )
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    checked = 0
    for image_id in sorted({d["image_id"] for d in dt})[:40]:
        h, w = sizes[image_id]
        gts = [a for a in gt["annotations"] if a["image_id"] == image_id]
        dts = [d["segmentation"] for d in dt if d["image_id"] == image_id]
        if not gts:
            continue
        g = [_coco_rle(a["segmentation"], h, w) for a in gts]
        crowd = [a["iscrowd"] for a in gts]
        np.testing.assert_array_equal(
            ioukit.mask_iou(dts, g, crowd=crowd), mask_utils.iou(dts, g, crowd)
        )
        checked += 1
    assert checked > 20
