"""LVIS results made from the LVIS ground truth (perturbed boxes, random scores, false
positives in negative and not-exhaustive categories) for the live tests and the
benchmark."""

from __future__ import annotations

import numpy as np


def make_lvis_results(gt: dict, rng: np.random.Generator, extra_per_image: int = 3) -> list:
    """Box (and polygon) results: every ground truth jittered (some dropped), plus false
    positives in each image's negative / not-exhaustive categories and some with equal
    scores."""
    out = []
    sizes = {img["id"]: (img["height"], img["width"]) for img in gt["images"]}
    for ann in gt["annotations"]:
        if rng.random() < 0.15:
            continue
        x, y, w, h = ann["bbox"]
        jitter = rng.normal(0, 0.1, 4) * np.array([w, h, w, h])
        bx, by, bw, bh = x + jitter[0], y + jitter[1], abs(w + jitter[2]), abs(h + jitter[3])
        score = float(np.round(rng.random(), 2))  # rounded: ties happen
        out.append(_result(ann["image_id"], ann["category_id"], [bx, by, bw, bh], score))
    for img in gt["images"]:
        pool = list(img.get("neg_category_ids", [])) + list(
            img.get("not_exhaustive_category_ids", [])
        )
        for _ in range(extra_per_image if pool else 0):
            hh, ww = sizes[img["id"]]
            bw, bh = rng.uniform(5, ww / 3), rng.uniform(5, hh / 3)
            bx, by = rng.uniform(0, ww - bw), rng.uniform(0, hh - bh)
            cat = int(pool[rng.integers(len(pool))])
            out.append(_result(img["id"], cat, [bx, by, bw, bh], float(np.round(rng.random(), 2))))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def _result(image_id, category_id, box, score) -> dict:
    x, y, w, h = (float(v) for v in box)
    return {
        "image_id": image_id,
        "category_id": category_id,
        "bbox": [x, y, w, h],
        "segmentation": [[x, y, x, y + h, x + w, y + h, x + w, y]],
        "score": score,
    }
