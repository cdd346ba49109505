"""``ioukit analyze pr|f1|confusion|errors`` on the embedded sample, run as a user would
(in process, ``tests/helpers/cli.py``; one real subprocess); the numbers against
pycocotools and the in-process analysis functions."""

from __future__ import annotations

import gzip
import json
import subprocess

import numpy as np
import pytest

from ioukit.data import sample_path
from ioukit.evaluate import analysis
from tests.helpers.cli import run_ioukit, run_ioukit_subprocess

GT = str(sample_path("gt"))
DT = str(sample_path("bbox"))
SEGM = str(sample_path("segm"))
PNG = b"\x89PNG\r\n\x1a\n"


def run_json(tmp_path, *args: str, run=run_ioukit) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "out.json"
    proc = run("analyze", *args, "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc, json.loads(out.read_text())


def one_line(proc: subprocess.CompletedProcess, code: int, message: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr, proc.stderr


def _load(path: str):
    with gzip.open(path, "rt") as handle:
        return json.load(handle)


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_pr_at_any_threshold_is_pycocotools(tmp_path):
    """mAP and per-class AP at IoU 0.3 (not one of COCO's thresholds) equal pycocotools'
    with iouThrs=[0.3]."""
    pytest.importorskip("pycocotools")
    from tests.helpers.coco import pycocotools_eval

    proc, data = run_json(tmp_path, "pr", GT, DT, "--iou-threshold", "0.3", "--per-class", "5")
    stats, precision, _ = pycocotools_eval(_load(GT), _load(DT), "bbox", iouThrs=np.array([0.3]))
    assert data["analysis"] == "pr" and data["iou_type"] == "bbox"
    assert data["iou_threshold"] == 0.3
    assert data["map"] == pytest.approx(stats[0], abs=1e-12)
    p = precision[0, :, :, 0, -1]  # (R, K) at area all, maxDets 100
    cats = sorted(int(c["id"]) for c in _load(GT)["categories"])
    for k, c in enumerate(cats):
        row = data["classes"][str(c)]
        if (p[:, k] > -1).all():
            assert row["ap"] == pytest.approx(p[:, k].mean(), abs=1e-12)
            assert row["precision"] == pytest.approx(p[:, k].tolist(), abs=1e-12)
        else:
            assert row["ap"] == -1
    assert data["category_names"]["1"] == "person"
    out = proc.stdout
    assert f"mAP {stats[0]:.3f} at IoU >= 0.3 over" in out
    assert "  person                    250" in out  # the class with most objects first
    assert "... 75 more (--per-class N, or --json)" in out
    assert len([line for line in out.splitlines() if line.startswith("  ")]) == 2 + 1 + 5 + 1


def test_f1_matches_the_api_at_a_custom_threshold(tmp_path):
    proc, data = run_json(tmp_path, "f1", GT, DT, "--iou-threshold", "0.65")
    table = analysis.f1_scores(GT, DT, iou_threshold=0.65)
    assert data == json.loads(json.dumps(table.as_dict())) | {
        "analysis": "f1",
        "iou_type": "bbox",
        "category_names": data["category_names"],
    }
    o = table.overall
    assert f"all classes pooled: F1 {o['f1']:.3f} at score >= {o['threshold']:.4g}" in proc.stdout
    k = int(np.flatnonzero(table.classes == 1)[0])  # person
    row = next(line for line in proc.stdout.splitlines() if line.startswith("  person"))
    assert row.split()[1:4] == ["250", f"{table.best_f1[k]:.3f}", f"{table.best_threshold[k]:.4g}"]


def test_confusion_matches_the_api_with_both_thresholds(tmp_path):
    proc, data = run_json(  # the one real ``python -m ioukit analyze`` of the suite
        tmp_path,
        "confusion",
        GT,
        DT,
        "--iou-threshold",
        "0.6",
        "--score-threshold",
        "0.05",
        run=run_ioukit_subprocess,
    )
    cm = analysis.confusion_matrix(GT, DT, iou_threshold=0.6, score_threshold=0.05)
    assert data["matrix"] == cm.matrix.tolist()
    assert data["iou_threshold"] == 0.6 and data["score_threshold"] == 0.05
    assert data["labels"][-1] == "background" and data["labels"][0] == 1
    k_n = cm.classes.shape[0]
    m = cm.matrix
    found = int(np.trace(m[:k_n, :k_n]))
    assert (
        f"{int(m[:k_n].sum())} objects: {found} found with their class, "
        f"{int(m[:k_n, :k_n].sum()) - found} with another class, {int(m[:k_n, k_n].sum())} "
        f"missed; {int(m[k_n].sum())} false positives"
    ) in proc.stdout
    assert "IoU > 0.6, score > 0.05" in proc.stdout
    assert "true \\ predicted" not in proc.stdout  # 80 classes: no full matrix in text


def test_errors_match_the_api_and_pos_threshold_is_an_alias(tmp_path):
    proc, data = run_json(
        tmp_path, "errors", GT, DT, "--pos-threshold", "0.6", "--bg-threshold", "0.2"
    )
    res = analysis.error_breakdown(GT, DT, pos_threshold=0.6, bg_threshold=0.2)
    assert data["counts"] == res.counts
    assert data["delta_ap"] == pytest.approx(res.delta_ap, abs=1e-12)
    assert data["ap"] == pytest.approx(res.ap, abs=1e-12)
    assert data["pos_threshold"] == 0.6 and data["bg_threshold"] == 0.2
    out = proc.stdout
    assert "true positive at IoU >= 0.6, background at IoU <= 0.2" in out
    for name in analysis.ERROR_TYPES:
        line = next(x for x in out.splitlines() if x.startswith(f"  {name} "))
        assert line.split()[1:3] == [str(res.counts[name]), f"{res.delta_ap[name]:.4f}"]


def test_segm_errors(tmp_path):
    _, data = run_json(tmp_path, "errors", GT, SEGM, "--iou-type", "segm", "--per-class", "0")
    res = analysis.error_breakdown(GT, SEGM, iou_type="segm")
    assert data["iou_type"] == "segm" and data["counts"] == res.counts


@pytest.mark.skipif(not _has_matplotlib(), reason="needs matplotlib")
@pytest.mark.parametrize("kind", ["pr", "f1", "confusion", "errors"])
def test_plots(tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    proc = run_ioukit("analyze", kind, GT, DT, "--plot", str(out), "--per-class", "0")
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr  # (a cold numba cache says it compiles)
    assert out.read_bytes()[:8] == PNG


def test_small_data_shows_the_matrix_and_empty_results_work(tmp_path):
    gt = {
        "images": [{"id": 1, "height": 50, "width": 50}, {"id": 2, "height": 50, "width": 50}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [20, 20, 10, 10], "area": 100},
        ],
    }
    dt = [
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 9], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [5, 5, 5, 5], "score": 0.8},
    ]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    (tmp_path / "empty.json").write_text("[]")
    g, d = str(tmp_path / "gt.json"), str(tmp_path / "dt.json")
    proc = run_ioukit("analyze", "confusion", g, d)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    i = lines.index(next(x for x in lines if "true \\ predicted" in x))
    assert lines[i].split()[-3:] == ["cat", "dog", "backgr."]
    assert lines[i + 1].split()[1:] == ["0", "1", "0"]  # the cat taken for a dog
    assert lines[i + 2].split()[1:] == ["0", "0", "1"]  # the dog missed
    assert lines[i + 3].split()[1:] == ["1", "0", "0"]  # a cat on an empty image
    cat = [x for x in lines if x.startswith("  cat ")][-1]  # the table, after the matrix
    assert cat.split() == ["cat", "1", "0", "1", "0", "1", "dog", "(1)"]
    for kind in ("pr", "f1", "confusion", "errors"):
        args = ["analyze", kind, g, str(tmp_path / "empty.json"), "--json", str(tmp_path / "e")]
        if _has_matplotlib():
            args += ["--plot", str(tmp_path / "e.png")]
        proc = run_ioukit(*args)
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        json.loads((tmp_path / "e").read_text())


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["pr", GT, DT, "--iou-threshold", "1.5"],
            "argument --iou-threshold: 1.5 is not in [0, 1]",
        ),
        (["f1", GT, DT, "--iou-threshold", "-0.1"], "argument --iou-threshold: -0.1 is not in"),
        (["errors", GT, DT, "--pos-threshold", "nan"], "nan is not in [0, 1]"),
        (["errors", GT, DT, "--bg-threshold", "2"], "argument --bg-threshold: 2 is not in [0, 1]"),
        (
            ["errors", GT, DT, "--bg-threshold", "0.6"],
            "--bg-threshold 0.6 is above --iou-threshold 0.5",
        ),
        (
            ["confusion", GT, DT, "--iou-threshold", "x"],
            "argument --iou-threshold: 'x' is not a number",
        ),
        (["confusion", GT, DT, "--score-threshold", "inf"], "inf is not a finite number"),
        (["pr", GT, DT, "--score-threshold", "0.3"], "unrecognized arguments: --score-threshold"),
        (["tide", GT, DT], "invalid choice: 'tide'"),
        ([], "the following arguments are required"),
        (["pr", GT], "the following arguments are required: DT.json"),
        (["pr", GT, DT, "--iou-type", "mask"], "invalid choice: 'mask'"),
    ],
)
def test_usage_errors_are_one_line(args, message):
    one_line(run_ioukit("analyze", *args), 2, message)


def test_file_and_output_mistakes_are_one_line(tmp_path):
    one_line(run_ioukit("analyze", "pr", GT, str(tmp_path / "nope.json")), 1, "no such file")
    one_line(run_ioukit("analyze", "f1", GT, str(tmp_path)), 1, "is a folder, not a file")
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b"[]")[:-6])
    one_line(run_ioukit("analyze", "errors", GT, str(bad)), 1, "is not a readable gzip file")
    (tmp_path / "odd.json").write_text('[{"image_id": 999999, "category_id": 1}]')
    one_line(run_ioukit("analyze", "confusion", GT, str(tmp_path / "odd.json")), 1, "detections")
    # output paths are refused before any work
    missing = str(tmp_path / "no" / "out.json")
    proc = run_ioukit("analyze", "errors", GT, DT, "--json", missing)
    one_line(proc, 1, f"--json {missing}: cannot write there: no folder")
    assert proc.stdout == ""
    proc = run_ioukit("analyze", "pr", GT, DT, "--plot", str(tmp_path))
    one_line(proc, 1, "--plot")
    assert proc.stdout == ""
