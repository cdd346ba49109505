"""Write a synthetic COCO-format data set for the end-to-end benchmarks.

    python -m benchmarks.data.make_coco DATA [--images 5000] [--categories 80] [--seed 0] [--no-segm]

DATA receives ``gt.json`` (images, categories and annotations: polygons, with about
3 % crowd regions stored as uncompressed RLE, as COCO stores them), ``dt_bbox.json``
(box results with scores) and ``dt_segm.json`` (the same results with compressed-RLE
masks). With the defaults the set is shaped like COCO val2017: 5,000 images, about
7 objects each, and detections near every object plus background false positives,
capped at 100 per image. Only NumPy and ioukit are needed (ioukit's RLE codec is
byte-identical to pycocotools'). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from ioukit import rle

SIZES_W = (640, 480, 500, 427)
SIZES_H = (480, 640, 375, 333)


def star(rng: np.random.Generator, x: float, y: float, w: float, h: float, k: int) -> list:
    """A star-shaped polygon of k vertices inside the box (x, y, w, h), flat [x0, y0, ...]."""
    angles = np.sort(rng.uniform(0.0, 2 * math.pi, k))
    reach = rng.uniform(0.5, 1.0, k)
    px = np.clip(x + w / 2 + np.cos(angles) * reach * w / 2, x, x + w)
    py = np.clip(y + h / 2 + np.sin(angles) * reach * h / 2, y, y + h)
    return np.column_stack([px, py]).ravel().round(2).tolist()


def uncompressed(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed counts of an (H, W) 0/1 mask: column-major runs, zeros first."""
    flat = np.ascontiguousarray(mask.T).ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    return ([0] + runs) if flat.size and flat[0] else runs


def jitter(rng: np.random.Generator, box: tuple, width: int, height: int) -> tuple:
    """A detection near a ground-truth box: shifted and rescaled, kept in the image."""
    x, y, w, h = box
    w2 = float(np.clip(w * rng.lognormal(0.0, 0.15), 2, width - 1))
    h2 = float(np.clip(h * rng.lognormal(0.0, 0.15), 2, height - 1))
    x2 = float(np.clip(x + rng.normal(0, 0.1) * w, 0, width - w2))
    y2 = float(np.clip(y + rng.normal(0, 0.1) * h, 0, height - h2))
    return x2, y2, w2, h2


def moved(poly: list, old: tuple, new: tuple) -> list:
    """The polygon of the box ``old`` carried onto the box ``new`` (shift and scale)."""
    xy = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    scale = np.array([new[2] / old[2], new[3] / old[3]])
    out = (xy - [old[0], old[1]]) * scale + [new[0], new[1]]
    return out.ravel().round(2).tolist()


def make(images: int, categories: int, seed: int, segm: bool) -> tuple[dict, list, list]:
    rng = np.random.default_rng(seed)
    cats = [
        {"id": c, "name": f"class{c}", "supercategory": "thing"} for c in range(1, categories + 1)
    ]
    image_list, anns, dets_box, dets_segm = [], [], [], []
    next_id = 1
    for image_id in range(1, images + 1):
        width, height = int(rng.choice(SIZES_W)), int(rng.choice(SIZES_H))
        image_list.append(
            {"id": image_id, "width": width, "height": height, "file_name": f"{image_id:012d}.jpg"}
        )
        boxes = []
        for _ in range(int(rng.poisson(7))):
            w = float(np.clip(rng.lognormal(3.8, 0.9), 4, width - 1))
            h = float(np.clip(rng.lognormal(3.8, 0.9), 4, height - 1))
            x, y = float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h))
            cat = int(rng.integers(1, categories + 1))
            ann = {
                "id": next_id,
                "image_id": image_id,
                "category_id": cat,
                "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                "iscrowd": int(rng.random() < 0.03),
            }
            next_id += 1
            if segm:
                poly = star(rng, x, y, w, h, int(rng.integers(5, 16)))
                region = rle.from_polygons([poly], height, width)
                ann["area"] = float(rle.area(region)[0])
                if ann["iscrowd"]:
                    ann["segmentation"] = {
                        "size": [height, width],
                        "counts": uncompressed(rle.decode(region)[0]),
                    }
                else:
                    ann["segmentation"] = [poly]
            else:
                ann["area"] = round(w * h, 2)
            anns.append(ann)
            boxes.append(((x, y, w, h), cat, poly if segm else None))
        found = []
        for box, cat, poly in boxes:  # 0 to 3 detections near each object
            for _ in range(int(rng.choice(4, p=[0.15, 0.55, 0.2, 0.1]))):
                label = cat if rng.random() < 0.9 else int(rng.integers(1, categories + 1))
                near = jitter(rng, box, width, height)
                shape = moved(poly, box, near) if poly is not None else None
                found.append((near, label, float(rng.beta(5, 2)), shape))
        for _ in range(int(rng.poisson(8))):  # background false positives
            w = float(np.clip(rng.lognormal(3.5, 0.9), 2, width - 1))
            h = float(np.clip(rng.lognormal(3.5, 0.9), 2, height - 1))
            box = (float(rng.uniform(0, width - w)), float(rng.uniform(0, height - h)), w, h)
            found.append((box, int(rng.integers(1, categories + 1)), float(rng.beta(2, 5)), None))
        found.sort(key=lambda item: -item[2])
        found = found[:100]
        polys = [
            shape if shape is not None else star(rng, *box, int(rng.integers(5, 12)))
            for box, _, _, shape in found
        ]
        masks = rle.from_polygons(polys, height, width) if segm and polys else []
        for i, ((x, y, w, h), label, score, _) in enumerate(found):
            base = {"image_id": image_id, "category_id": label, "score": round(score, 4)}
            dets_box.append(dict(base, bbox=[round(x, 2), round(y, 2), round(w, 2), round(h, 2)]))
            if segm:
                counts = masks[i]["counts"]
                text = counts.decode("ascii") if isinstance(counts, bytes) else counts
                dets_segm.append(dict(base, segmentation={"size": [height, width], "counts": text}))
    gt = {
        "info": {"description": "synthetic COCO-format set (benchmarks/data/make_coco.py)"},
        "images": image_list,
        "annotations": anns,
        "categories": cats,
    }
    return gt, dets_box, dets_segm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--categories", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-segm", action="store_true", help="boxes only (much faster)")
    args = parser.parse_args()
    gt, dets_box, dets_segm = make(args.images, args.categories, args.seed, not args.no_segm)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gt.json").write_text(json.dumps(gt))
    (out / "dt_bbox.json").write_text(json.dumps(dets_box))
    if not args.no_segm:
        (out / "dt_segm.json").write_text(json.dumps(dets_segm))
    print(
        f"{out}: {len(gt['images'])} images, {len(gt['annotations'])} objects, "
        f"{len(dets_box)} detections"
    )


if __name__ == "__main__":
    main()
