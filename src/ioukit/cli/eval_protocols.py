"""``ioukit eval`` beyond COCO boxes and masks: which protocol applies, and the LVIS and
CrowdPose reports.

The protocol is COCO's unless the ground truth is LVIS (its images list
``neg_category_ids``, its categories a ``frequency``) or CrowdPose (its images carry
a ``crowdIndex``), or ``--lvis`` / ``--crowdpose`` / ``--coco`` says otherwise; the
report always names the protocol it applied and why.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import name_error
from .progress import Progress

_COCO_LIKE = ("bbox", "segm")


@dataclass(frozen=True)
class Protocol:
    """The evaluation protocol of one ``ioukit eval`` run."""

    key: str
    """``coco``, ``lvis`` or ``crowdpose``."""
    iou_type: str
    source: str
    """``option`` (--lvis, --crowdpose, --coco), ``detected`` or ``default``."""
    note: str = ""

    def line(self, args: argparse.Namespace) -> str:
        """``protocol: LVIS (federated; detected from the ground truth)`` and the like."""
        why = {
            "option": f"--{self.key}",
            "detected": "detected from the ground truth",
            "default": "",
        }[self.source]
        if self.key == "lvis":
            what = "LVIS (federated"
        elif self.key == "crowdpose":
            what = "CrowdPose (keypoints, OKS with " + _sigma_text(args, 14) + "; AP by crowd index"
        elif self.iou_type == "keypoints":
            what = "COCO keypoints (OKS with " + _sigma_text(args, 17)
        elif self.iou_type == "boundary":
            ratio = 0.02 if args.dilation_ratio is None else args.dilation_ratio
            what = f"Boundary IoU (COCO matching, dilation ratio {ratio:g}"
        else:
            what = f"COCO {self.iou_type} (pycocotools' COCOeval"
        parts = [p for p in (why, self.note) if p]
        return f"protocol: {what}{''.join('; ' + p for p in parts)})"

    def as_json(self) -> dict[str, str]:
        return {"protocol": self.key, "protocol_source": self.source}


def _sigma_text(args: argparse.Namespace, default_count: int) -> str:
    sigmas = args.kpt_oks_sigmas
    if sigmas is None:
        return f"the {default_count} {'CrowdPose' if default_count == 14 else 'COCO'} sigmas"
    if isinstance(sigmas, str):
        return f"the {'CrowdPose' if sigmas == 'crowdpose' else 'COCO'} sigmas"
    return f"{len(sigmas)} sigmas from --kpt-oks-sigmas"


def sigmas_of(args: argparse.Namespace) -> Any:
    """``--kpt-oks-sigmas`` as the API takes it (None: the protocol's default)."""
    value = args.kpt_oks_sigmas
    if isinstance(value, str):
        from ..evaluate.crowdpose import CROWDPOSE_SIGMAS
        from ..evaluate.keypoints import COCO_KEYPOINT_SIGMAS

        return CROWDPOSE_SIGMAS if value == "crowdpose" else COCO_KEYPOINT_SIGMAS
    return value


def _is_crowdpose(data: Any) -> bool:
    images = data.get("images") if isinstance(data, dict) else None
    return bool(
        isinstance(images, list)
        and images
        and isinstance(images[0], dict)
        and "crowdIndex" in images[0]
    )


def requested(args: argparse.Namespace) -> Protocol | None:
    """The protocol the options fix on their own (None: the ground truth decides)."""
    if args.lvis:
        return Protocol("lvis", args.iou_type or "bbox", "option")
    if args.crowdpose:
        return Protocol("crowdpose", "keypoints", "option")
    if args.coco:
        return Protocol("coco", args.iou_type or "bbox", "option")
    return None


def choose(args: argparse.Namespace, data: Any) -> Protocol:
    """The protocol for the options and the loaded ground truth ``data``.

    Examples
    --------
    >>> from ioukit.cli.parser import build_parser
    >>> args = build_parser().parse_args(["eval", "gt.json", "dt.json"])
    >>> lvis = {"images": [{"id": 1, "neg_category_ids": []}], "annotations": []}
    >>> choose(args, lvis).line(args)
    'protocol: LVIS (federated; detected from the ground truth)'
    >>> choose(args, {"images": [{"id": 1, "crowdIndex": 0.3}]}).key
    'crowdpose'
    >>> args.coco = True
    >>> choose(args, lvis).line(args)
    "protocol: COCO bbox (pycocotools' COCOeval; --coco)"
    """
    fixed = requested(args)
    if fixed is not None:
        return fixed
    from ..evaluate.lvis import is_lvis

    if args.iou_type in (None, "keypoints") and _is_crowdpose(data):
        return Protocol("crowdpose", "keypoints", "detected")
    iou_type = args.iou_type or "bbox"
    if is_lvis(data):
        if iou_type in _COCO_LIKE:
            return Protocol("lvis", iou_type, "detected")
        note = f"the ground truth is LVIS, which has no {iou_type} protocol"
        return Protocol("coco", iou_type, "default", note)
    return Protocol("coco", iou_type, "default")


def conflict(protocol: Protocol, args: argparse.Namespace) -> str | None:
    """Why ``args`` cannot run under ``protocol`` (None: they can).

    Examples
    --------
    >>> from ioukit.cli.parser import build_parser
    >>> args = build_parser().parse_args(["eval", "g.json", "d.json", "--max-dets", "1,10"])
    >>> conflict(Protocol("lvis", "bbox", "detected"), args)
    '--max-dets: LVIS takes one value, the results kept per image (default 300)'
    >>> conflict(Protocol("coco", "bbox", "default"), args) is None
    True
    """
    name = {"lvis": "LVIS", "crowdpose": "CrowdPose"}.get(protocol.key)
    if protocol.key == "lvis" and protocol.iou_type not in _COCO_LIKE:
        return f"--lvis evaluates bbox or segm, not --iou-type {protocol.iou_type}"
    if protocol.key == "crowdpose" and args.iou_type not in (None, "keypoints"):
        return f"--crowdpose evaluates keypoints, not --iou-type {args.iou_type}"
    if args.kpt_oks_sigmas is not None and protocol.iou_type != "keypoints":
        return "--kpt-oks-sigmas needs --iou-type keypoints (or --crowdpose)"
    if args.dilation_ratio is not None and protocol.iou_type != "boundary":
        return "--dilation-ratio needs --iou-type boundary"
    if name is None:
        return None
    if args.iou_thresholds is not None:
        return f"--iou-thresholds: {name} uses its own fixed thresholds 0.50:0.95"
    if args.max_dets is not None and (protocol.key == "crowdpose" or len(args.max_dets) > 1):
        if protocol.key == "crowdpose":
            return "--max-dets: CrowdPose keeps its fixed 20 detections per image"
        return "--max-dets: LVIS takes one value, the results kept per image (default 300)"
    if args.plot:
        return f"--plot draws COCO's IoU histogram, which the {name} protocol does not give"
    return None


@dataclass
class Outcome:
    """What one evaluation prints (``lines``), writes to ``--json`` (``payload``) and
    draws for ``--plot`` (``plot(path)``, COCO's protocol only)."""

    lines: list[str]
    payload: dict[str, Any]
    plot: Callable[[str], None] | None = None


def _params(args: argparse.Namespace, iou_type: str) -> Any:
    from ..evaluate.params import COCOParams
    from ..evaluate.protocols import protocol_defaults

    params = COCOParams(iou_type=iou_type, **protocol_defaults(iou_type))
    if args.iou_thresholds is not None:
        params.iou_thrs = args.iou_thresholds
    if args.max_dets is not None:
        params.max_dets = args.max_dets
    if args.kpt_oks_sigmas is not None:
        params.kpt_oks_sigmas = sigmas_of(args)
    if args.dilation_ratio is not None:
        params.dilation_ratio = args.dilation_ratio
    return params


def run_coco(
    args: argparse.Namespace, data: dict, protocol: Protocol, bar: Progress, client: Any = None
) -> Outcome:
    """``ioukit eval`` with COCO's protocol: bbox, segm, keypoints (OKS) or boundary."""
    from .eval_command import as_json, evaluate_and_report

    result, report, lines, seconds = evaluate_and_report(
        data,
        args.dt,
        protocol.iou_type,
        args.threshold,
        args.per_class,
        protocol.line(args),
        client=client,
        params=_params(args, protocol.iou_type),
        min_score=args.min_score,
        bar=bar,
        gt_name=args.gt,
    )

    def plot(path: str) -> None:
        from pathlib import Path

        from .plot import plot_report

        names = result.category_names
        per_class = {names.get(c, str(c)): v for c, v in report.per_class.items()}
        title = f"{Path(args.dt).name} ({protocol.iou_type})"
        plot_report(path, report.gt_iou, per_class, title)

    return Outcome(lines, dict(protocol.as_json(), **as_json(result, report, seconds)), plot)


def run(args: argparse.Namespace, client_for: Callable[[], Any]) -> Outcome:
    """Read the ground truth, choose the protocol, evaluate (one progress bar)."""
    from ..evaluate.readers import load_json
    from .eval_command import _read

    with Progress(4, "reading ground truth") as bar:
        data = _read(load_json, args.gt, "ground truth", "ground truth")
        protocol = choose(args, data)
        problem = conflict(protocol, args)
        if problem:
            raise ValueError(problem)
        bar.advance()
        runner = {"lvis": run_lvis, "crowdpose": run_crowdpose}.get(protocol.key, run_coco)
        return runner(args, data, protocol, bar, client_for())


def _results(path: str, min_score: float | None) -> list:
    """The results list of ``path`` (``--min-score`` applied where scores are numbers;
    the evaluation's reader reports any other)."""
    from ..evaluate.readers import load_json
    from .eval_command import _read

    data = _read(load_json, path, "detections", "detections")
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]
    if not isinstance(data, list):
        raise ValueError(f"detections file {path!r} is not a list of results")
    if min_score is None:
        return data

    def low(r: Any) -> bool:
        score = r.get("score") if isinstance(r, dict) else None
        number = isinstance(score, (int, float)) and not isinstance(score, bool)
        return number and score < min_score

    return [r for r in data if not low(r)]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _table_rows(objects: np.ndarray, per_class: int) -> list[int]:
    return np.lexsort((np.arange(objects.size), -objects))[:per_class].tolist()


def _client_option(client: Any) -> dict[str, Any]:
    return {} if client is None else {"client": client}


def _evaluate_results(
    args: argparse.Namespace, bar: Progress, what: str, evaluate: Callable[[list], Any]
) -> tuple[Any, list, float]:
    """Read the results (``--min-score`` applied) and run ``evaluate(results)`` under
    the progress bar; returns (what it returned, the results, the seconds taken)."""
    start = time.perf_counter()
    bar.advance(0, label="reading detections")
    results = _results(args.dt, args.min_score)
    bar.advance(label=f"evaluating {what}")
    try:
        found = evaluate(results)
    except ValueError as err:
        raise name_error(err, args.gt, args.dt) from None
    bar.advance()
    return found, results, time.perf_counter() - start


def run_lvis(
    args: argparse.Namespace, data: dict, protocol: Protocol, bar: Progress, client: Any = None
) -> Outcome:
    """``ioukit eval`` of an LVIS ground truth (``data``, loaded) with lvis-api's protocol."""
    from ..evaluate.lvis import lvis_evaluate

    max_dets = args.max_dets[0] if args.max_dets else 300
    options = dict(max_dets=max_dets, **_client_option(client))
    result, results, seconds = _evaluate_results(
        args,
        bar,
        f"{protocol.iou_type} (LVIS)",
        lambda results: lvis_evaluate(data, results, protocol.iou_type, **options),
    )
    listed = data.get("categories") if isinstance(data.get("categories"), list) else []
    cats = {c["id"]: c for c in listed if isinstance(c, dict) and _is_int(c.get("id"))}
    anns = data["annotations"]  # read and checked by lvis_evaluate
    ids, counts = np.unique([int(a["category_id"]) for a in anns], return_counts=True)
    per_cat = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    cat_ids = result.category_ids.tolist()
    ap = []
    for k in range(len(cat_ids)):
        s = result.precision[:, :, k, 0]
        valid = s[s > -1]
        ap.append(float(valid.mean()) if valid.size else -1.0)
    objects = np.array([per_cat.get(c, 0) for c in cat_ids], dtype=np.int64)
    lines = [
        f"LVIS {protocol.iou_type} evaluation: {len(data['images'])} images, {len(anns)} "
        f"ground-truth objects, {len(results)} detections (at most {max_dets} per image "
        f"kept), {len(cat_ids)} categories [{seconds:.2f} s]",
        protocol.line(args),
        "",
        result.summary(),
    ]
    if args.per_class:
        rows = _table_rows(objects, args.per_class)
        lines += ["", f"  {'class':<20} {'freq':>4} {'AP':>6} {'objects':>8}"]
        for k in rows:
            cat = cats.get(cat_ids[k], {})
            name = str(cat.get("name", cat_ids[k]))[:20]
            value = f"{ap[k]:>6.3f}" if ap[k] > -1 else f"{'-':>6}"
            freq = str(cat.get("frequency", "-"))
            lines.append(f"  {name:<20} {freq:>4} {value} {objects[k]:>8d}")
        if len(cat_ids) > len(rows):
            lines.append(f"  ... {len(cat_ids) - len(rows)} more (--per-class N, or --json)")
    per_class = {
        str(cats.get(c, {}).get("name", c)): {
            "ap": ap[k],
            "frequency": cats.get(c, {}).get("frequency"),
            "objects": int(objects[k]),
        }
        for k, c in enumerate(cat_ids)
    }
    payload = {
        **protocol.as_json(),
        "iou_type": protocol.iou_type,
        "stats": result.as_dict(),
        "max_dets": max_dets,
        "seconds": seconds,
        "per_class": per_class,
    }
    return Outcome(lines, payload)


_CROWDPOSE_ROWS = (
    ("AP", "Precision  (AP)", "0.50:0.95", "all"),
    ("AP50", "Precision  (AP)", "0.50", "all"),
    ("AP75", "Precision  (AP)", "0.75", "all"),
    ("AR", "Recall     (AR)", "0.50:0.95", "all"),
    ("AR50", "Recall     (AR)", "0.50", "all"),
    ("AR75", "Recall     (AR)", "0.75", "all"),
    ("AP_easy", "Precision  (AP)", "0.50:0.95", "easy"),
    ("AP_medium", "Precision  (AP)", "0.50:0.95", "medium"),
    ("AP_hard", "Precision  (AP)", "0.50:0.95", "hard"),
)


def run_crowdpose(
    args: argparse.Namespace, data: dict, protocol: Protocol, bar: Progress, client: Any = None
) -> Outcome:
    """``ioukit eval`` with CrowdPose's protocol (``data``: the loaded ground truth)."""
    from ..evaluate.crowdpose import crowdpose_evaluate

    options = _client_option(client)
    stats, results, seconds = _evaluate_results(
        args,
        bar,
        "keypoints (CrowdPose)",
        lambda results: crowdpose_evaluate(data, results, sigmas_of(args), **options),
    )
    lines = [
        f"CrowdPose keypoints evaluation: {len(data['images'])} images, "
        f"{len(data.get('annotations') or [])} ground-truth people, {len(results)} "
        f"detections [{seconds:.2f} s]",
        protocol.line(args),
        "",
    ]
    for key, title, iou, kind in _CROWDPOSE_ROWS:
        value = stats[key]
        lines.append(
            f" Average {title} @[ IoU={iou:<9} | type={kind:>6s} | maxDets= 20 ] = {value:0.3f}"
        )
    payload = {**protocol.as_json(), "iou_type": "keypoints", "stats": stats, "seconds": seconds}
    return Outcome(lines, payload)
