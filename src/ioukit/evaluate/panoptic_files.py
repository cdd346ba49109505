"""Panoptic quality of COCO panoptic files (JSON + PNG folders), as panopticapi ``pq_compute``.

A PNG holds ``id = R + 256 G + 256**2 B`` per pixel (0 is void); its annotation's
``segments_info`` gives each id a ``category_id`` (and, in the ground truth,
``iscrowd`` and ``area``). Where panopticapi raises (a predicted id in the PNG but not
in the JSON or the reverse, an unknown predicted category, a missing prediction),
this raises a ValueError naming the file and the id. It also checks what panopticapi
leaves unchecked: the same for the ground truth, duplicate ids, segment id 0, PNG
sizes. Two panopticapi rules are reproduced on purpose: the ground-truth area comes
from the JSON ``area`` (the pixel count when the key is missing), and only the last
crowd segment of a category (in ``segments_info`` order) excuses false positives.

8-bit RGB(A) PNGs are decoded by ``panoptic_png``, others by Pillow (the ``image``
extra); images are counted on a thread pool.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .panoptic_core import (
    PanopticResult,
    add_matches,
    match_segments,
    pixel_pairs,
    png_pixel_pairs,
    result_from_counts,
    segment_pixels,
)
from .panoptic_png import NotFastPng, inflate, unfilter

_MAX_ID = (1 << 24) - 1
FUNC = "panoptic_evaluate"


def _load_json(path: Any, what: str) -> dict:
    if isinstance(path, dict):
        return path
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{FUNC}: {what} {path} is not valid JSON: {err}") from None
    except OSError as err:
        raise ValueError(f"{FUNC}: cannot read {what} {path}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise ValueError(f"{FUNC}: {what} {path} has no 'annotations' list")
    return data


def _int(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{FUNC}: {what} must be an integer, got {value!r}")
    return int(value)


def _categories(gt: dict, path: Any) -> dict[int, dict]:
    cats = gt.get("categories")
    if not isinstance(cats, list) or not cats:
        raise ValueError(f"{FUNC}: ground truth {path} has no 'categories' list")
    out: dict[int, dict] = {}
    for c in cats:
        if not isinstance(c, dict):
            raise ValueError(f"{FUNC}: a category of {path} is not an object: {c!r}")
        cid = _int(c.get("id"), f"category id in {path}")
        if cid in out:
            raise ValueError(f"{FUNC}: duplicate category id {cid} in {path}")
        out[cid] = c
    return out


class _Segments:
    """One annotation's ``segments_info``, checked, as arrays sorted by segment id."""

    def __init__(self, ann: dict, categories: dict, is_gt: bool, where: str) -> None:
        infos = ann.get("segments_info")
        if not isinstance(infos, list):
            raise ValueError(f"{FUNC}: {where} has no 'segments_info' list")
        rows = []  # (id, category, crowd, area)
        last_crowd: dict[int, int] = {}  # panopticapi keeps the last crowd segment per category
        lowest = 1 if is_gt else 0
        for info in infos:
            if not isinstance(info, dict):
                raise ValueError(f"{FUNC}: {where}: a segment is not an object: {info!r:.80}")
            sid = info.get("id")
            if type(sid) is not int:  # noqa: E721 (bool is not an id)
                sid = _int(sid, f"{where}: segment id")
            if not lowest <= sid <= _MAX_ID:
                raise ValueError(
                    f"{FUNC}: {where}: segment id {sid} is outside [{lowest}, {_MAX_ID}] "
                    "(a PNG holds 24-bit ids; in the ground truth 0 is void)"
                )
            cat = info.get("category_id")
            if type(cat) is not int:  # noqa: E721
                cat = _int(cat, f"{where}: category_id of segment {sid}")
            if cat not in categories:
                raise ValueError(f"{FUNC}: {where}: segment {sid} has unknown category_id {cat}")
            crowd, area = False, -1
            if is_gt:
                c = info.get("iscrowd", 0)
                if type(c) is not int:  # noqa: E721
                    c = _int(c, f"{where}: iscrowd of segment {sid}")
                crowd = c == 1
                if crowd:
                    last_crowd[cat] = sid
                a = info.get("area")
                if a is not None:
                    area = a if type(a) is int else _int(a, f"{where}: area of segment {sid}")  # noqa: E721
            rows.append((sid, cat, crowd, area))
        rows.sort()
        for k in range(1, len(rows)):
            if rows[k][0] == rows[k - 1][0]:
                raise ValueError(f"{FUNC}: {where}: duplicate segment id {rows[k][0]}")
        self.keys = np.array([r[0] for r in rows], dtype=np.int64)
        self.cats = np.array([r[1] for r in rows], dtype=np.int64)
        self.crowd = np.array([r[2] for r in rows], dtype=bool)
        self.area = np.array([r[3] for r in rows], dtype=np.int64)
        counted = set(last_crowd.values())
        self.crowd_counted = np.array([r[0] in counted for r in rows], dtype=bool)


def _open_png(path: str, where: str) -> tuple[Any, tuple[int, int, int], Any]:
    """``(filtered rows, (H, W, channels), None)`` of an 8-bit RGB(A) PNG, or
    ``(None, shape, pixels)`` of any other image Pillow reads as RGB(A)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ValueError(f"{FUNC}: {where}: cannot read {path}: {err}") from None
    try:
        raw, height, width, channels = inflate(data, path)
        return raw, (height, width, channels), None
    except NotFastPng:
        pass
    except ValueError as err:
        raise ValueError(f"{FUNC}: {where}: {err}") from None
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "panoptic_evaluate reads PNG files with Pillow: pip install 'ioukit[image]'"
        ) from None
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode not in ("RGB", "RGBA"):
                raise ValueError(
                    f"{FUNC}: {where}: {path} is a {img.mode!r} image; the COCO panoptic "
                    "format is RGB (id = R + 256 G + 256^2 B)"
                )
            arr = np.ascontiguousarray(np.asarray(img))
    except (OSError, SyntaxError) as err:  # Pillow raises these on unreadable files
        raise ValueError(f"{FUNC}: {where}: cannot read {path}: {err}") from None
    return None, arr.shape, arr


def _pixels(png: tuple, path: str, where: str) -> np.ndarray:
    raw, (height, width, channels), pixels = png
    if pixels is not None:
        return pixels
    try:
        return unfilter(raw, height, width, channels, path)
    except ValueError as err:
        raise ValueError(f"{FUNC}: {where}: {err}") from None


class _Image:
    def __init__(self, gt_ann, pred_ann, categories, gt_folder, pred_folder, where) -> None:
        self.where = where
        self.gt = _Segments(gt_ann, categories, True, f"ground truth of {where}")
        self.pred = _Segments(pred_ann, categories, False, f"prediction of {where}")
        self.gt_path = os.path.join(gt_folder, _file_name(gt_ann, where))
        self.pred_path = os.path.join(pred_folder, _file_name(pred_ann, where))


def _file_name(ann: dict, where: str) -> str:
    name = ann.get("file_name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{FUNC}: {where} has no 'file_name'")
    return name


def _rgb_ids(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels[..., :3].astype(np.uint32)
    return (rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16)).reshape(-1)


def _evaluate_image(im: _Image):
    gt_png = _open_png(im.gt_path, im.where)
    pred_png = _open_png(im.pred_path, im.where)
    (height, width, _), p_shape = gt_png[1], pred_png[1]
    if (height, width) != p_shape[:2]:
        raise ValueError(
            f"{FUNC}: {im.where}: prediction {im.pred_path} is {p_shape[1]}x{p_shape[0]} "
            f"but the ground truth {im.gt_path} is {width}x{height}"
        )
    # A predicted segment may have id 0 (panopticapi counts it as a segment when it is
    # in segments_info); then no predicted pixel is unlabelled.
    pred_void = -1 if im.pred.keys.size and im.pred.keys[0] == 0 else 0
    n_gt, n_pred = im.gt.keys.size, im.pred.keys.size
    keys = (im.gt.keys, im.pred.keys, 0, pred_void)
    if gt_png[0] is not None and pred_png[0] is not None:  # the fast path: from the rows
        g_rows, p_rows = (
            (gt_png[0], height, width, gt_png[1][2]),
            (pred_png[0], height, width, p_shape[2]),
        )
        pairs, bad = png_pixel_pairs(g_rows, p_rows, *keys)
        if bad is not None and bad[0] >= 2:
            path = (im.gt_path, im.pred_path)[bad[0] - 2]
            raise ValueError(
                f"{FUNC}: {im.where}: {path}: corrupt PNG (row {bad[2]} has an unknown filter type)"
            )
    else:
        g_ids = _rgb_ids(_pixels(gt_png, im.gt_path, im.where))
        p_ids = _rgb_ids(_pixels(pred_png, im.pred_path, im.where))
        pairs, bad = pixel_pairs(g_ids, p_ids, *keys)
    if bad is not None:
        side, value, at = bad
        path = (im.gt_path, im.pred_path)[side]
        y, x = divmod(at, width)
        raise ValueError(
            f"{FUNC}: {im.where}: segment id {value} (at x={x}, y={y}) is in the PNG {path} "
            "but not in its segments_info"
        )
    gt_pixels, pred_pixels = segment_pixels(pairs, n_gt, n_pred)
    gt_pixels, pred_pixels = gt_pixels[1:], pred_pixels[1:]
    for what, keys, pixels, path in (
        ("ground truth", im.gt.keys, gt_pixels, im.gt_path),
        ("prediction", im.pred.keys, pred_pixels, im.pred_path),
    ):
        if (pixels == 0).any():
            missing = keys[pixels == 0].tolist()
            raise ValueError(
                f"{FUNC}: {im.where}: {what} segment ids {missing} are in segments_info "
                f"but not in the PNG {path}"
            )
    area = np.where(im.gt.area < 0, gt_pixels, im.gt.area)
    try:
        return match_segments(
            pairs, im.gt.cats, im.gt.crowd, im.pred.cats, area, im.gt.crowd_counted
        )
    except ValueError as err:
        raise ValueError(f"{FUNC}: {im.where}: {err}") from None


def panoptic_evaluate(
    gt_json: Any,
    pred_json: Any,
    gt_folder: str | os.PathLike | None = None,
    pred_folder: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> PanopticResult:
    """Panoptic quality of COCO panoptic files, equal to panopticapi ``pq_compute``.

    Parameters
    ----------
    gt_json, pred_json : path or dict
        COCO panoptic JSON files (or their loaded contents): ``annotations`` with
        ``image_id``, ``file_name`` and ``segments_info``; ``categories`` (with
        ``isthing``) is read from the ground truth.
    gt_folder, pred_folder : path, optional
        Folders of the PNGs; default the JSON path without ``.json`` (as panopticapi).
    workers : int, optional
        Threads reading and counting images (default: the CPU count, at most 16).
    progress : callable, optional
        Called as ``progress(done, total)`` after each image.
    client : distributed.Client, optional
        Read and match the images on the workers of a Dask cluster (``workers`` is
        then not used); the client adds the per-image matches in image order, so the
        numbers are those of one process. The PNG folders must be readable at the
        same paths on every worker. Needs ``ioukit[dask]``.

    Returns
    -------
    PanopticResult
        ``groups`` holds panopticapi's ``All`` / ``Things`` / ``Stuff`` numbers
        (``pq``, ``sq``, ``rq``, ``n``) and ``per_class`` its per-category ones;
        ``summary()`` prints its table.

    Raises
    ------
    ValueError
        A ground-truth image without a prediction; duplicate image ids, category ids or
        segment ids; an unknown category; a segment id in a PNG but not in its
        ``segments_info`` or the reverse; PNGs of different sizes; unreadable files.
        The message names the image, the file and the id.
    ImportError
        Pillow is missing (``pip install 'ioukit[image]'``).

    Examples
    --------
    >>> import json, os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from ioukit.evaluate import panoptic_evaluate
    >>> d = tempfile.mkdtemp()
    >>> ids = np.zeros((4, 4, 3), np.uint8); ids[:, :2, 0] = 1; ids[:, 2:, 0] = 2
    >>> for name in ("gt", "pred"):
    ...     os.mkdir(os.path.join(d, name))
    ...     Image.fromarray(ids).save(os.path.join(d, name, "a.png"))
    >>> segs = [{"id": 1, "category_id": 1, "area": 8, "iscrowd": 0},
    ...         {"id": 2, "category_id": 2, "area": 8, "iscrowd": 0}]
    >>> ann = {"image_id": 1, "file_name": "a.png", "segments_info": segs}
    >>> cats = [{"id": 1, "isthing": 1, "name": "cat"}, {"id": 2, "isthing": 0, "name": "sky"}]
    >>> gt = {"annotations": [ann], "categories": cats}
    >>> r = panoptic_evaluate(gt, {"annotations": [ann]}, f"{d}/gt", f"{d}/pred")
    >>> r.pq, r.groups["Things"]["n"]
    (1.0, 1)
    """
    gt = _load_json(gt_json, "ground truth")
    pred = _load_json(pred_json, "prediction")
    gt_folder = _folder(gt_folder, gt_json, "gt_folder")
    pred_folder = _folder(pred_folder, pred_json, "pred_folder")
    categories = _categories(gt, gt_json if not isinstance(gt_json, dict) else "gt_json")
    pred_by_image: dict[Any, dict] = {}
    for ann in pred["annotations"]:
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise ValueError(f"{FUNC}: a prediction annotation has no image_id: {ann!r:.80}")
        if ann["image_id"] in pred_by_image:
            raise ValueError(f"{FUNC}: two predictions for image_id {ann['image_id']!r}")
        pred_by_image[ann["image_id"]] = ann
    images: list[_Image] = []
    seen: set = set()
    for ann in gt["annotations"]:
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise ValueError(f"{FUNC}: a ground-truth annotation has no image_id: {ann!r:.80}")
        image_id = ann["image_id"]
        if image_id in seen:
            raise ValueError(f"{FUNC}: two ground-truth annotations for image_id {image_id!r}")
        seen.add(image_id)
        if image_id not in pred_by_image:
            raise ValueError(f"{FUNC}: no prediction for the image with id {image_id!r}")
        where = f"image_id {image_id!r}"
        images.append(
            _Image(ann, pred_by_image[image_id], categories, gt_folder, pred_folder, where)
        )
    counts: dict[int, list] = {}
    n_workers = workers if workers is not None else min(16, os.cpu_count() or 1)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"{FUNC}: workers must be an integer >= 1, got {workers!r}")
    pool = None
    if client is not None:
        from .cluster import map_images_on_cluster

        outcomes = map_images_on_cluster(_evaluate_image, images, client)
    elif n_workers == 1 or len(images) <= 1:
        outcomes = map(_evaluate_image, images)
    else:
        pool = ThreadPoolExecutor(max_workers=n_workers)
        outcomes = pool.map(_evaluate_image, images)
    try:
        for done, m in enumerate(outcomes, 1):  # in image order: sums as panopticapi's
            add_matches(counts, m)
            if progress is not None:
                progress(done, len(images))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        elif client is not None:
            outcomes.close()
    cat_ids = list(categories)
    isthing = [categories[c].get("isthing") == 1 for c in cat_ids]
    names = [str(categories[c].get("name", c)) for c in cat_ids]
    return result_from_counts(cat_ids, counts, isthing, len(images), names)


def _folder(folder: Any, json_path: Any, name: str) -> str:
    if folder is None:
        if isinstance(json_path, dict):
            raise ValueError(f"{FUNC}: {name} is needed when the JSON is given as a dict")
        folder = str(json_path).replace(".json", "")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"{FUNC}: {name} {folder} is not a folder")
    return folder
