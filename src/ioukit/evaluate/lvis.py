"""LVIS evaluation, identical to lvis-api's ``LVISEval`` (federated protocol).

What differs from COCO, as lvis-api does it:

* results are cut to the ``max_dets`` (300) highest-scoring per image, over all
  categories, before anything else (``LVISResults``);
* annotations and results with an area outside ``(0, inf)`` take no part
  (lvis-api's ``get_ann_ids`` keeps ``0 < area < inf`` only);
* a result counts only where its category is verified in its image: present in the
  image's ground truth or listed in ``neg_category_ids``;
* an unmatched result of a category listed in the image's
  ``not_exhaustive_category_ids`` is ignored, not a false positive;
* ``iscrowd`` plays no part; a ground truth with ``ignore`` set is ignored;
* every (image, category) keeps all its results (no per-group maxDets), and the
  summary adds AP over the rare / common / frequent categories (APr, APc, APf).

The matching and accumulation are COCO's compiled kernels (``coco.match_stage``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .params import COCOParams
from .readers import (
    _column,
    _image_ids,
    _named,
    boxes_of_rles,
    load_json,
    read_detections,
    read_ground_truth,
)
from .stages import _index_in, finish, match_stage

LVIS_FREQUENCIES = ("r", "c", "f")


def is_lvis(gt: Any) -> bool:
    """True when a loaded ground-truth dict is an LVIS file (its images carry
    ``neg_category_ids`` / ``not_exhaustive_category_ids`` or its categories a
    ``frequency``).

    Examples
    --------
    >>> from ioukit.evaluate.lvis import is_lvis
    >>> is_lvis({"images": [{"id": 1, "neg_category_ids": []}], "annotations": []})
    True
    >>> is_lvis({"images": [{"id": 1}], "annotations": [], "categories": [{"id": 1}]})
    False
    """
    if not isinstance(gt, dict):
        return False
    keys = ("neg_category_ids", "not_exhaustive_category_ids")
    images = gt.get("images")
    if isinstance(images, list) and images and isinstance(images[0], dict):
        if any(k in images[0] for k in keys):
            return True
    cats = gt.get("categories")
    return bool(
        isinstance(cats, list) and cats and isinstance(cats[0], dict) and "frequency" in cats[0]
    )


def lvis_stat_names(max_dets: int = 300) -> tuple[str, ...]:
    """The keys of lvis-api's ``get_results()``, in its order."""
    ar = tuple(f"AR{s}@{max_dets}" for s in ("", "s", "m", "l"))
    return ("AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf", *ar)


@dataclass
class LVISResult:
    """What :func:`lvis_evaluate` found."""

    results: dict[str, float]
    """lvis-api's ``get_results()``: AP, AP50, AP75, APs, APm, APl, APr, APc, APf,
    AR@300, ARs@300, ARm@300, ARl@300."""
    precision: np.ndarray = field(repr=False)
    """(T, R, K, A) precision, -1 where a category has no ground truth (lvis-api's
    ``eval["precision"]``)."""
    recall: np.ndarray = field(repr=False)
    """(T, K, A) recall."""
    category_ids: np.ndarray = field(repr=False)
    freq_groups: list[np.ndarray] = field(repr=False)
    """Category indices of the rare, common and frequent groups."""
    params: COCOParams = field(repr=False)

    def as_dict(self) -> dict[str, float]:
        """``get_results()`` as a plain dict."""
        return dict(self.results)

    def summary(self) -> str:
        """The lines lvis-api's ``print_results()`` prints."""
        p = self.params
        lines = []
        for key, value in self.results.items():
            title = "Average Precision (AP)" if "AP" in key else "Average Recall (AR)"
            if len(key) > 2 and key[2].isdigit():
                iou = f"{float(key[2:]) / 100:0.2f}"
            else:
                iou = f"{p.iou_thrs[0]:0.2f}:{p.iou_thrs[-1]:0.2f}"
            group = key[2] if len(key) > 2 and key[2] in LVIS_FREQUENCIES else "all"
            area = key[2] if len(key) > 2 and key[2] in "sml" else "all"
            lines.append(
                f" {title:<22} @[ IoU={iou:<9} | area={area:>6s} | "
                f"maxDets={p.max_dets[-1]:>3d} catIds={group:>3s}] = {value:0.3f}"
            )
        return "\n".join(lines)


def _id_of(item: Any) -> Any:
    return item.get("id", "?") if isinstance(item, dict) else "?"


def _category_frequencies(data: dict, cat_ids: np.ndarray) -> list[np.ndarray]:
    by_id = {}
    for i, cat in enumerate(data.get("categories") or []):
        freq = cat.get("frequency") if isinstance(cat, dict) else None
        if freq not in LVIS_FREQUENCIES:
            raise ValueError(
                f"ground-truth category {i} (id {_id_of(cat)}) "
                f"has frequency {freq!r}, expected 'r', 'c' or 'f'"
            )
        cat_id = cat.get("id")
        if isinstance(cat_id, bool) or not isinstance(cat_id, int):
            raise ValueError(f"ground-truth category {i} has no integer 'id' (got {cat_id!r})")
        if cat_id in by_id:
            raise ValueError(f"ground-truth category {i} repeats id {cat_id}")
        by_id[cat_id] = freq
    labels = np.array([by_id[int(c)] for c in cat_ids.tolist()], dtype=object)
    return [np.flatnonzero(labels == f) for f in LVIS_FREQUENCIES]


def _image_lists(images: list, key: str) -> list[np.ndarray]:
    out = []
    for i, img in enumerate(images):
        values = img.get(key) if isinstance(img, dict) else None
        if not isinstance(values, list):
            raise ValueError(
                f"ground-truth image {i} (id {_id_of(img)}) "
                f"has no {key!r} list (an LVIS file needs it on every image)"
            )
        try:
            out.append(np.asarray(values, dtype=np.int64).reshape(-1))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"ground-truth image {i} has a {key!r} that is not all integers"
            ) from None
    return out


def _pair_keys(image_index: np.ndarray, cats: np.ndarray, cat_ids: np.ndarray) -> np.ndarray:
    """``image_index * (K + 1) + category index + 1``; 0 as the category part for an
    id not among the ground truth's ``K`` categories (such results are never scored)."""
    index, found = _index_in(np.asarray(cats, dtype=np.int64), cat_ids)
    return image_index * (cat_ids.size + 1) + np.where(found, index + 1, 0)


def _pairs(image_index: np.ndarray, lists: list[np.ndarray], cat_ids: np.ndarray) -> np.ndarray:
    """Sorted unique (image, category) keys of per-image category id lists."""
    if not lists:
        return np.zeros(0, dtype=np.int64)
    lengths = np.array([v.size for v in lists], dtype=np.int64)
    cats = np.concatenate(lists) if lengths.sum() else np.zeros(0, dtype=np.int64)
    return np.unique(_pair_keys(np.repeat(image_index, lengths), cats, cat_ids))


def _top_per_image(results: list, max_dets: int) -> list:
    """lvis-api's ``limit_dets_per_image``: the ``max_dets`` best of each image (ties
    in file order)."""
    if not results:
        return results
    images = _image_ids(results, "detection")
    scores = _column(results, "score", "detection", "float")
    order = np.lexsort((np.arange(len(results)), -scores, images))
    sorted_images = images[order]
    first = np.searchsorted(sorted_images, sorted_images, "left")
    keep = np.sort(order[np.arange(len(order)) - first < max_dets])
    if keep.size == len(results):
        return results
    return [results[i] for i in keep.tolist()]


def lvis_evaluate(
    gt: Any, dt: Any, iou_type: str = "bbox", *, max_dets: int = 300, client: Any = None
) -> LVISResult:
    """LVIS AP/AR with lvis-api's federated protocol (see the module notes).

    Parameters
    ----------
    gt : str, path or dict
        LVIS ground truth (its images list ``neg_category_ids`` and
        ``not_exhaustive_category_ids``, its categories a ``frequency``).
    dt : str, path or list of dict
        Results as for ``LVISResults`` (``bbox`` and / or ``segmentation``, ``score``).
    iou_type : {"bbox", "segm"}
    max_dets : int, default 300
        Results kept per image (the highest scores).
    client : distributed.Client, optional
        Match the images on the workers of a Dask cluster (the same numbers as in
        one process; needs ``ioukit[dask]``).

    Returns
    -------
    LVISResult
        ``results`` with lvis-api's ``get_results()`` keys, ``precision``, ``recall``.

    Examples
    --------
    >>> from ioukit.evaluate import lvis_evaluate
    >>> gt = {"images": [{"id": 1, "height": 10, "width": 10, "neg_category_ids": [2],
    ...                   "not_exhaustive_category_ids": []}],
    ...       "categories": [{"id": 1, "frequency": "f"}, {"id": 2, "frequency": "r"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [0, 0, 4, 4], "area": 16}]}
    >>> dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "score": 0.9},
    ...       {"image_id": 1, "category_id": 2, "bbox": [5, 5, 2, 2], "score": 0.8}]
    >>> r = lvis_evaluate(gt, dt)
    >>> round(r.results["AP"], 6), round(r.results["APf"], 6), r.results["APr"]
    (1.0, 1.0, -1.0)
    """
    func = "lvis_evaluate"
    if iou_type not in ("bbox", "segm"):
        raise ValueError(f"{func}: iou_type={iou_type!r} is not 'bbox' or 'segm'")
    if isinstance(max_dets, (bool, np.bool_)) or not isinstance(max_dets, (int, np.integer)):
        raise TypeError(f"{func}: max_dets must be an integer, got {max_dets!r}")
    if max_dets < 1:
        raise ValueError(f"{func}: max_dets={max_dets} must be at least 1")
    data = load_json(gt, "ground truth")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ValueError(
            _named(gt, "ground truth", ValueError("is not an LVIS dict with 'images'"))
        )
    try:
        neg = _image_lists(data["images"], "neg_category_ids")
        not_exhaustive = _image_lists(data["images"], "not_exhaustive_category_ids")
        truth = read_ground_truth(data, iou_type)
        anns = data["annotations"]
        ignore = _column(anns, "ignore", "ground-truth annotation", "flag", default=0) != 0
        cat_freq = _category_frequencies(data, truth.category_ids)
    except ValueError as err:
        raise _named(gt, "ground truth", err) from None
    # lvis-api evaluates only annotations with 0 < area < inf
    g_keep = np.flatnonzero((truth.areas > 0) & (truth.areas < np.inf))
    if g_keep.size < truth.areas.size:
        truth = read_ground_truth({**data, "annotations": [anns[i] for i in g_keep]}, iou_type)
        ignore = ignore[g_keep]
    truth.crowd = np.zeros(truth.areas.shape, dtype=np.bool_)
    truth.areas = np.where(ignore, -np.inf, truth.areas)  # -inf: ignored in every area range

    results = load_json(dt, "detections")
    if isinstance(results, dict) and isinstance(results.get("annotations"), list):
        results = results["annotations"]
    if not isinstance(results, list):
        raise ValueError(f"{func}: detections must be a list of results")
    try:
        results = _top_per_image(results, int(max_dets))
    except ValueError as err:
        raise _named(dt, "detections", err) from None
    dets = read_detections(results, truth, iou_type)
    if dets.boxes is None and iou_type == "segm":
        from .._masks.convert import segmentations_to_rles

        rles = segmentations_to_rles(
            dets.segmentations,
            truth.heights[dets.image],
            truth.widths[dets.image],
            "detection segmentation",
            func,
        )
        boxes, areas = boxes_of_rles(rles)  # as LVISResults: the mask's box and area
        # (a box present keeps match_stage from replacing the areas set below)
        dets = replace(dets, boxes=boxes, areas=areas, rles=rles, segmentations=None)

    # image order of the ground truth file -> index into truth.image_ids
    file_ids = np.array([int(img["id"]) for img in data["images"]], dtype=np.int64)
    file_index, _ = _index_in(file_ids, truth.image_ids)
    cat_ids = truth.category_ids
    verified = np.union1d(
        _pairs(file_index, neg, cat_ids),
        _pair_keys(truth.ann_image, truth.ann_category, cat_ids),
    )
    unsure = _pairs(file_index, not_exhaustive, cat_ids)
    d_pair = _pair_keys(dets.image, dets.category, cat_ids)
    d_keep = np.isin(d_pair, verified) & (dets.areas > 0) & (dets.areas < np.inf)
    dets = dets.take(np.flatnonzero(d_keep))
    unsure_dets = np.isin(d_pair[d_keep], unsure)
    dets.areas = np.where(unsure_dets, -np.inf, dets.areas)  # unmatched: ignored

    p = COCOParams(iou_type=iou_type, max_dets=(int(max_dets),)).checked()
    if client is None:
        stage = match_stage(truth, dets, p)
    else:
        from .cluster import match_on_cluster

        stage = match_on_cluster(truth, dets, p, client)
    # COCO's accumulation; its 12-number summary is not used
    full = finish(stage, p, truth.category_names)
    precision, recall = full.precision[..., 0], full.recall[..., 0]
    return LVISResult(
        results=_summarize_lvis(precision, recall, p, cat_freq, int(max_dets)),
        precision=precision,
        recall=recall,
        category_ids=stage.cats,
        freq_groups=cat_freq,
        params=p,
    )


def _mean_valid(s: np.ndarray) -> float:
    valid = s[s > -1]
    return -1.0 if valid.size == 0 else float(np.mean(valid))


def _summarize_lvis(precision, recall, p, groups, max_dets) -> dict[str, float]:
    t50 = np.where(p.iou_thrs == 0.5)[0]
    t75 = np.where(p.iou_thrs == 0.75)[0]
    area = {lbl: i for i, lbl in enumerate(p.area_rng_lbl)}
    names = lvis_stat_names(max_dets)
    values = [
        _mean_valid(precision[:, :, :, 0]),
        _mean_valid(precision[t50][:, :, :, 0]),
        _mean_valid(precision[t75][:, :, :, 0]),
        _mean_valid(precision[:, :, :, area["small"]]),
        _mean_valid(precision[:, :, :, area["medium"]]),
        _mean_valid(precision[:, :, :, area["large"]]),
        *(_mean_valid(precision[:, :, g, 0]) for g in groups),
        _mean_valid(recall[:, :, 0]),
        _mean_valid(recall[:, :, area["small"]]),
        _mean_valid(recall[:, :, area["medium"]]),
        _mean_valid(recall[:, :, area["large"]]),
    ]
    return dict(zip(names, values, strict=True))
