"""The ioukit command, run as a user would: in process (``tests/helpers/cli.py``), and
one real ``python -m ioukit`` per command (demo, semseg, panoptic, warmup here)."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import run_ioukit, run_ioukit_subprocess
from tests.helpers.panoptic import TF_DIR

VAL2014 = "faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
FAKE_BBOX = "cocoapi/results/instances_val2014_fakebbox100_results.json"


def test_demo_explains_and_evaluates_the_sample():
    proc = run_ioukit_subprocess("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "25 / 175" in out and "0.1429" in out and "poor" in out
    assert (
        "COCO bbox evaluation: 100 images, 839 ground-truth objects (9 crowd), 734 detections"
        in out
    )
    assert "maxDets=100 ] = 0.505" in out  # bbox AP
    assert "maxDets=100 ] = 0.320" in out  # segm AP
    assert "billion pairs/s" in out


def test_eval_tables_json_and_plot(shared_data, tmp_path):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    args = [str(shared_data / VAL2014), str(shared_data / FAKE_BBOX), "--json", str(out_json)]
    if _has_matplotlib():
        args += ["--plot", str(out_png)]
    proc = run_ioukit("eval", *args, progress=True)
    assert proc.returncode == 0, proc.stderr
    assert (
        "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505"
        in proc.stdout
    )
    assert "mean IoU" in proc.stdout and "excellent" in proc.stdout
    assert "evaluating bbox" in proc.stderr  # the progress bar
    data = json.loads(out_json.read_text())
    assert data["stats"]["AP"] == pytest.approx(0.5045806987249628, abs=1e-12)
    assert data["per_class"]["person"]["ap"] > 0
    if "--plot" in args:
        assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_eval_segm(shared_data):
    proc = run_ioukit(
        "eval",
        str(shared_data / VAL2014),
        str(shared_data / "cocoapi/results/instances_val2014_fakesegm100_results.json"),
        "--iou-type",
        "segm",
        "--per-class",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert "maxDets=100 ] = 0.320" in proc.stdout


def test_semseg_on_ade20k_sample(shared_data, tmp_path):
    folder = shared_data / "sceneparsing/sampleData/annotations"
    pred = tmp_path / "pred"
    shutil.copytree(folder, pred)
    out_json = tmp_path / "s.json"
    proc = run_ioukit_subprocess(
        "semseg",
        str(folder),
        str(pred),
        "--num-classes",
        "151",
        "--ignore-index",
        "0",
        "--json",
        str(out_json),
    )
    assert proc.returncode == 0, proc.stderr
    assert "over 3 label maps" in proc.stdout and "mIoU 1.0000" in proc.stdout
    assert json.loads(out_json.read_text())["pixel_accuracy"] == 1.0


def test_panoptic_command_subprocess(shared_data, tmp_path):
    pytest.importorskip("PIL")
    folder = shared_data / TF_DIR
    out_json = tmp_path / "p.json"
    proc = run_ioukit_subprocess(
        "panoptic",
        folder / "coco_gt.json",
        folder / "coco_pred.json",
        "--per-class",
        "0",
        "--json",
        out_json,
    )
    assert proc.returncode == 0, proc.stderr
    assert "All       |  67.4   68.3   82.1     6" in proc.stdout
    assert json.loads(out_json.read_text())["images"] == 4


def test_warmup_command_subprocess():
    proc = run_ioukit_subprocess("warmup", "--family", "boxes", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("warmed up boxes in "), proc.stdout


def test_in_process_runner_gives_what_a_subprocess_gives(tmp_path, monkeypatch):
    """tests/helpers/cli.py: the exit code and output of ``python -m ioukit`` (relative
    paths resolve in ``cwd``), and this process's folder, environment and twin mode are
    back afterwards."""
    from ioukit._core import twins

    (tmp_path / "gt.json").write_text("[{")
    (tmp_path / "dt.json").write_text("[]")
    monkeypatch.setenv("IOUKIT_PROGRESS", "unchanged")
    folder, mode = os.getcwd(), twins.DEFAULT_TWIN_MODE
    cases = [
        (("eval", "gt.json", "dt.json"), 1, "ioukit: error: ground truth file 'gt.json' is not"),
        (("eval", "gt.json"), 2, "the following arguments are required: DT.json"),
        (("--version",), 0, ""),
    ]
    for args, code, message in cases:
        here = run_ioukit(*args, cwd=tmp_path)
        there = run_ioukit_subprocess(*args, cwd=tmp_path, timeout=300)
        assert here.returncode == there.returncode == code, (args, here, there)
        assert here.stdout == there.stdout and here.stderr == there.stderr, (here, there)
        assert message in here.stderr
    assert here.stdout.startswith("ioukit ")
    assert os.getcwd() == folder and twins.DEFAULT_TWIN_MODE == mode
    assert os.environ["IOUKIT_PROGRESS"] == "unchanged"


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["eval", "missing-gt.json", "missing-dt.json"],
            "cannot read missing-gt.json: no such file",
        ),
        (["semseg", "no-such-dir", "x", "--num-classes", "3"], "no-such-dir is not a folder"),
    ],
)
def test_user_errors_are_one_line(args, message):
    proc = run_ioukit(*args)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_files_and_labels(shared_data, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    proc = run_ioukit("eval", str(shared_data / VAL2014), str(broken))
    assert (
        proc.returncode == 1
        and "is not valid JSON" in proc.stderr
        and "Traceback" not in proc.stderr
    )
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])
    )
    proc = run_ioukit("eval", str(shared_data / VAL2014), str(wrong))
    assert proc.returncode == 1 and "detection 0 refers to image 1" in proc.stderr
    folder = shared_data / "sceneparsing/sampleData/annotations"
    proc = run_ioukit("semseg", str(folder), str(folder), "--num-classes", "10")
    assert (
        proc.returncode == 1
        and "is outside [0, 10)" in proc.stderr
        and "Traceback" not in proc.stderr
    )


def test_help_and_usage_errors():
    proc = run_ioukit("--help")
    assert proc.returncode == 0 and "demo" in proc.stdout and "semseg" in proc.stdout
    proc = run_ioukit("eval", "--help")
    assert "--iou-type" in proc.stdout and "--json" in proc.stdout and "--plot" in proc.stdout
    bad = run_ioukit("nonsense")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_semseg_reduce_labels_reproduces_the_ade20k_devkit(shared_data, tmp_path):
    folder = shared_data / "sceneparsing/sampleData/annotations"
    out_json, out_png = tmp_path / "s.json", tmp_path / "s.png"
    args = [
        "semseg",
        str(folder),
        str(folder),
        "--num-classes",
        "150",
        "--reduce-labels",
        "--absent",
        "zero",
        "--per-class",
        "3",
        "--json",
        str(out_json),
    ]
    if _has_matplotlib():
        args += ["--plot", str(out_png)]
    proc = run_ioukit(*args)
    assert proc.returncode == 0, proc.stderr
    assert "mIoU 0.1000" in proc.stdout  # the devkit's number on its sample
    assert "... 147 more classes" in proc.stdout
    assert (
        len([line for line in proc.stdout.splitlines() if line.endswith(" 1.0000    1.0000")]) == 3
    )
    data = json.loads(out_json.read_text())
    assert round(data["miou"], 4) == 0.1 and data["images"] == 3
    if "--plot" in args:
        assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_any_threshold_and_coco_options(shared_data, tmp_path):
    out_json = tmp_path / "r.json"
    proc = run_ioukit(
        "eval",
        str(shared_data / VAL2014),
        str(shared_data / FAKE_BBOX),
        "--threshold",
        "0.3",
        "--iou-thresholds",
        "0.5:0.95:0.05",
        "--max-dets",
        "1,10,100",
        "--per-class",
        "0",
        "--json",
        str(out_json),
    )
    assert proc.returncode == 0, proc.stderr
    assert "maxDets=100 ] = 0.505" in proc.stdout and "IoU >= 0.30" in proc.stdout
    assert json.loads(out_json.read_text())["mean_iou"]["threshold"] == 0.3
    proc = run_ioukit(
        "eval",
        str(shared_data / VAL2014),
        str(shared_data / FAKE_BBOX),
        "--min-score",
        "2",
        "--iou-thresholds",
        "0.5",
        "--per-class",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "0 detections" in proc.stdout
        and "IoU=0.50      | area=   all | maxDets=100 ] = 0.000" in proc.stdout
    )


def test_min_score_matches_filtering_the_file(shared_data, tmp_path):
    dets = json.loads((shared_data / FAKE_BBOX).read_text())
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps([d for d in dets if d["score"] >= 0.5]))
    gt = str(shared_data / VAL2014)
    a = run_ioukit(
        "eval", gt, str(shared_data / FAKE_BBOX), "--min-score", "0.5", "--per-class", "0"
    )
    b = run_ioukit("eval", gt, str(kept), "--per-class", "0")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout.split("[")[0] == b.stdout.split("[")[0]  # same counts
    assert a.stdout.split("\n", 1)[1] == b.stdout.split("\n", 1)[1]  # same numbers


def test_compact_reprs():
    from ioukit.data import sample_path
    from ioukit.evaluate import coco_evaluate, report_from_result

    result = coco_evaluate(sample_path("gt"), sample_path("bbox"))
    text = repr(result)
    assert len(text) < 300 and "AP=0.505" in text and "precision(10, 101, 80, 4, 3)" in text
    report = repr(report_from_result(result))
    assert len(report) < 300 and "objects=830" in report and "mean_iou=" in report


def test_make_coco_writes_a_set_the_cli_evaluates(tmp_path, monkeypatch, capsys):
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "make_coco.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path), "--images", "4"])
    runpy.run_path(str(script), run_name="__main__")  # the script, in this process
    assert capsys.readouterr().out.startswith(f"{tmp_path}: 4 images, ")
    gt = json.loads((tmp_path / "gt.json").read_text())
    assert len(gt["images"]) == 4 and gt["annotations"]
    for iou_type in ("bbox", "segm"):
        proc = run_ioukit(
            "eval",
            str(tmp_path / "gt.json"),
            str(tmp_path / f"dt_{iou_type}.json"),
            "--iou-type",
            iou_type,
            "--per-class",
            "0",
        )
        assert proc.returncode == 0, proc.stderr
        assert "COCO " + iou_type + " evaluation: 4 images" in proc.stdout
