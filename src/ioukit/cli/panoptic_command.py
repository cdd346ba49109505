"""``ioukit panoptic GT.json PRED.json``: panoptic quality of COCO panoptic files.

panopticapi's table (PQ, SQ, RQ for All, Things and Stuff), a per-class table with
``--per-class [N]``, every number with ``--json FILE`` and a progress bar over the
images, as ``ioukit eval``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .progress import Progress

NAME_WIDTH = 20


def describe_panoptic(result: Any, seconds: float, per_class: int) -> list[str]:
    """The text report of a :class:`~ioukit.evaluate.PanopticResult`.

    Examples
    --------
    >>> import numpy as np
    >>> from ioukit.evaluate import panoptic_quality
    >>> ids = np.array([[1, 1, 2, 2]])
    >>> r = panoptic_quality(ids, ids, {1: 7, 2: 9}, {1: 7, 2: 9}, things={7})
    >>> lines = describe_panoptic(r, 0.01, per_class=1)
    >>> lines[0]
    'Panoptic quality: 1 images, 2 categories (1 things, 1 stuff) [0.01 s]'
    >>> for line in lines[-2:]:
    ...     print(line)
      7                    100.0 100.0 100.0      1      0      0 thing
      ... 1 more (--per-class, or --json)
    """
    things = sum(bool(t) for t in result.isthing or ())
    n_cats = len(result.categories)
    split = f" ({things} things, {n_cats - things} stuff)" if result.isthing is not None else ""
    lines = [
        f"Panoptic quality: {result.images} images, {n_cats} categories{split} [{seconds:.2f} s]",
        "protocol: COCO panoptic (panopticapi's pq_compute: segments matched at IoU > 0.5)",
        "",
        result.summary(),
    ]
    if not per_class:
        return lines
    segments = result.tp + result.fn  # ground-truth segments (crowd regions aside)
    rows = np.lexsort((np.arange(n_cats), -segments))[:per_class].tolist()
    lines += [
        "",
        f"  {'class':<{NAME_WIDTH}} {'PQ':>5} {'SQ':>5} {'RQ':>5} {'TP':>6} {'FP':>6} "
        f"{'FN':>6} {'kind':>5}",
    ]
    for k in rows:
        cat = result.categories[k]
        name = str(cat) if result.names is None else result.names[k]
        r = result.per_class[cat]
        kind = "-" if result.isthing is None else ("thing" if result.isthing[k] else "stuff")
        lines.append(
            f"  {name[:NAME_WIDTH]:<{NAME_WIDTH}} {100 * r['pq']:>5.1f} {100 * r['sq']:>5.1f} "
            f"{100 * r['rq']:>5.1f} {int(result.tp[k]):>6d} {int(result.fp[k]):>6d} "
            f"{int(result.fn[k]):>6d} {kind:>5}"
        )
    if n_cats > len(rows):
        lines.append(f"  ... {n_cats - len(rows)} more (--per-class, or --json)")
    return lines


def run_panoptic(
    args: argparse.Namespace, client_for: Callable[[], Any] | None = None
) -> tuple[list[str], dict[str, Any]]:
    """Evaluate with a progress bar (on the Dask cluster ``client_for()`` connects to,
    with ``--scheduler``); returns (text lines, the ``--json`` payload)."""
    from ..evaluate import panoptic_evaluate

    options = {}
    if getattr(args, "scheduler", None) and client_for is not None:
        options["client"] = client_for()
    start = time.perf_counter()
    with Progress(1, "reading the JSON files") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total + 1
            bar.done = done
            bar.advance(label="panoptic images")

        try:
            result = panoptic_evaluate(
                args.gt,
                args.pred,
                args.gt_folder,
                args.pred_folder,
                workers=args.workers,
                progress=progress,
                **options,
            )
        except ValueError as err:  # worded for the command line: options, not arguments
            text = str(err).removeprefix("panoptic_evaluate: ")
            for name in ("gt_folder", "pred_folder"):
                text = text.replace(f"{name} ", f"--{name.replace('_', '-')} ")
            raise ValueError(text) from None
    seconds = time.perf_counter() - start
    payload = {"protocol": "panoptic", **result.as_dict(), "seconds": seconds}
    return describe_panoptic(result, seconds, args.per_class), payload
