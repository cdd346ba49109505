"""ioukit.warmup() and ``ioukit warmup`` prepare every kernel family."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ioukit
from ioukit._core.warmup import FAMILIES

SRC = Path(ioukit.__file__).resolve().parents[1]

# One kernel (or two) of each family that warming it must have compiled or loaded.
KERNELS = {
    "boxes": ["cpu_boxes.pairwise_iou", "cpu_boxes.pairwise_iou_serial", "cpu_boxes.pairwise_ciou"],
    "sparse_boxes": ["cpu_sparse.count_pairs", "cpu_sparse.fill_pairs"],
    "dense_masks": ["cpu_masks.mask_boxes_words", "cpu_masks.packed_iou"],
    "sparse_masks": ["cpu_masks.intervals_from_indices"],
    "rle_masks": ["cpu_masks.intervals_from_counts"],
    "rle": ["cpu_rle.encode_strings", "cpu_rle.decode_strings", "cpu_rle.merge_counts"],
    "polygons": ["cpu_rle.polygons_to_counts"],
    "semantic": ["cpu_semantic.confusion_uint8", "cpu_semantic.confusion_runs"],
    "coco": ["cpu_coco.match_groups", "cpu_coco.accumulate"],
    "json": ["cpu_json.scan_results"],
    "rotated": ["cpu_rotated.pairwise", "cpu_rotated.aligned"],
    "nms": ["cpu_nms.greedy", "cpu_nms.soft"],
    "keypoints": ["cpu_oks.oks_matrix"],
    "boundary": ["cpu_boundary.band_counts"],
}

PROBE = r"""
import importlib, json, sys
import ioukit
ioukit.warmup(jobs=int(sys.argv[1]))
names = json.loads(sys.argv[2])
found = {}
for name in names:
    module, attr = name.split(".")
    kernel = getattr(importlib.import_module("ioukit.kernels." + module), attr)
    found[name] = [str(s) for s in kernel.signatures]
print(json.dumps(found))
"""


def test_every_family_is_listed():
    from ioukit._core.warmup import _MARKERS

    assert set(KERNELS) == set(FAMILIES) == set(_MARKERS)


def test_warmup_compiles_a_kernel_of_every_family():
    # A fresh process (the kernels of this one may already be compiled), with the
    # test session's cache: it is keyed by the source, so a re-run only loads.
    names = [k for ks in KERNELS.values() for k in ks]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "2", json.dumps(names)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    empty = [name for name in names if not found[name]]
    assert not empty, f"warmup left these kernels uncompiled: {empty}"


def test_warmup_one_family_in_process():
    assert ioukit.warmup(("float64",), families=["boxes"]) >= 0
    assert ioukit.warmup(("float64",), families="boxes", jobs=4) >= 0  # one family: no workers


def test_warmup_rejects_unknown_family():
    with pytest.raises(ValueError, match=r"warmup: unknown family 'box'; choose from"):
        ioukit.warmup(families=["box"])


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_warmup_rejects_bad_jobs(jobs):
    with pytest.raises(ValueError, match=r"warmup: jobs must be an integer >= 1 or None"):
        ioukit.warmup(families=["boxes"], jobs=jobs)


def test_warmup_command(capsys):
    from ioukit.cli.main import main

    assert main(["warmup", "--family", "boxes", "--jobs", "1"]) == 0
    assert capsys.readouterr().out.startswith("warmed up boxes in ")


def test_warmup_command_unknown_family(capsys):
    from ioukit.cli.main import main

    assert main(["warmup", "--family", "nope"]) == 1
    assert "unknown family 'nope'" in capsys.readouterr().err


def test_warmup_command_says_what_will_compile(capsys, monkeypatch):
    from ioukit._core import warmup as _warmup
    from ioukit.cli.main import main

    monkeypatch.setattr(_warmup, "cold_families", lambda names: list(names))
    assert main(["warmup", "--family", "boxes", "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "ioukit: compiling the kernels of boxes (first run only)" in captured.err
    assert captured.out.rstrip().endswith("(compiled)")


def test_cold_families_ignores_unknown_names():
    from ioukit._core.warmup import cold_families

    assert cold_families(["nope"]) == []
