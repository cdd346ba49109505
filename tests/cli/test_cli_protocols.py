"""``ioukit eval`` with keypoints, boundary, LVIS and CrowdPose, and ``ioukit panoptic``:
the printed and ``--json`` numbers equal the API's, the protocol line, the progress bar,
the one-line errors. Run in process (``main``), one subprocess for the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ioukit.cli.main import main
from ioukit.evaluate import coco_evaluate, crowdpose_evaluate, lvis_evaluate, panoptic_evaluate
from tests.helpers.lvis import make_lvis_results
from tests.helpers.panoptic import TF_DIR

FCE = "faster_coco_eval/tests"


@pytest.fixture(scope="module")
def kp(shared_data):
    root = shared_data / FCE / "keypoints_dataset"
    return str(root / "gt_dataset.json"), str(root / "dt_dataset.json")


@pytest.fixture(scope="module")
def shapes(shared_data):
    root = shared_data / FCE / "dataset"
    return str(root / "gt_dataset.json"), str(root / "dt_dataset.json")


@pytest.fixture(scope="module")
def crowdpose(shared_data):
    root = shared_data / FCE / "dataset"
    return str(root / "example_crowdpose_val.json"), str(root / "example_crowdpose_preds.json")


@pytest.fixture(scope="module")
def lvis(shared_data, tmp_path_factory):
    gt = shared_data / FCE / "lvis_dataset" / "lvis_val_100.json"
    results = make_lvis_results(json.loads(gt.read_text()), np.random.default_rng(7))
    dt = tmp_path_factory.mktemp("lvis") / "results.json"
    dt.write_text(json.dumps(results))
    return str(gt), str(dt), results


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys, tmp_path, *args: str) -> tuple[str, dict]:
    path = tmp_path / "out.json"
    code, out, err = run(capsys, *args, "--json", str(path))
    assert code == 0, err
    return out, json.loads(path.read_text())


def one_line(capsys, code: int, message: str, *args: str) -> None:
    got, out, err = run(capsys, *args) if code == 1 else _usage(capsys, *args)
    assert got == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert message in err, err


def _usage(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=0, abs=0), key


# ------------------------------------------------------------------ keypoints, boundary


def test_eval_keypoints_equals_api(kp, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("IOUKIT_PROGRESS", "1")
    out, data = run_json(capsys, tmp_path, "eval", *kp, "--iou-type", "keypoints")
    want = coco_evaluate(*kp, "keypoints")
    same(data["stats"], want.as_dict())
    assert data["protocol"] == "coco" and data["iou_type"] == "keypoints"
    assert "protocol: COCO keypoints (OKS with the 17 COCO sigmas)" in out
    assert f"area=medium | maxDets= 20 ] = {want.stats[3]:0.3f}" in out
    assert "mean OKS" in out and data["mean_iou"]["objects"] == 13
    assert data["per_class"]["person"]["ap"] == pytest.approx(want.per_category_ap()[1], abs=0)


def test_eval_keypoints_options_equal_api(kp, capsys, tmp_path):
    sigmas = np.linspace(0.03, 0.1, 17)
    text = ",".join(repr(float(s)) for s in sigmas)
    _, data = run_json(
        capsys, tmp_path, "eval", *kp, "--iou-type", "keypoints", "--kpt-oks-sigmas", text
    )
    same(data["stats"], coco_evaluate(*kp, "keypoints", kpt_oks_sigmas=sigmas).as_dict())
    # --min-score keeps each kept result's own keypoints
    dets = [d for d in json.loads(open(kp[1]).read()) if d["score"] >= 0.5]
    out, data = run_json(
        capsys, tmp_path, "eval", *kp, "--iou-type", "keypoints", "--min-score", "0.5"
    )
    same(data["stats"], coco_evaluate(kp[0], dets, "keypoints").as_dict())
    assert f"{len(dets)} detections" in out
    # a threshold outside the AP thresholds: a second matching pass, in OKS
    _, data = run_json(
        capsys, tmp_path, "eval", *kp, "--iou-type", "keypoints", "--threshold", "0.42"
    )
    assert data["mean_iou"]["threshold"] == 0.42


def test_eval_boundary_equals_api(shapes, capsys, tmp_path):
    args = ("eval", *shapes, "--iou-type", "boundary", "--dilation-ratio", "0.05")
    out, data = run_json(capsys, tmp_path, *args)
    same(data["stats"], coco_evaluate(*shapes, "boundary", dilation_ratio=0.05).as_dict())
    assert "protocol: Boundary IoU (COCO matching, dilation ratio 0.05)" in out
    assert "Mean Boundary IoU" in out and "mean BIoU" in out
    # --min-score keeps each kept result's own mask
    dets = [d for d in json.loads(open(shapes[1]).read()) if d["score"] >= 0.75]
    args = ("eval", *shapes, "--iou-type", "boundary", "--min-score", "0.75")
    out, data = run_json(capsys, tmp_path, *args)
    same(data["stats"], coco_evaluate(shapes[0], dets, "boundary").as_dict())
    assert f"{len(dets)} detections" in out and len(dets) == 5


# ------------------------------------------------------------------ LVIS, CrowdPose


def test_eval_lvis_detected_equals_api(lvis, capsys, tmp_path):
    gt, dt, results = lvis
    out, data = run_json(capsys, tmp_path, "eval", gt, dt, "--per-class", "3")
    want = lvis_evaluate(gt, dt, "bbox")
    same(data["stats"], want.results)
    assert "protocol: LVIS (federated; detected from the ground truth)" in out
    assert data["protocol"] == "lvis" and data["protocol_source"] == "detected"
    assert "catIds=  r]" in out and "... 1227 more" in out
    assert data["per_class"]["banana"]["frequency"] == "f"
    assert data["per_class"]["banana"]["objects"] == 87


def test_eval_lvis_options(lvis, capsys, tmp_path):
    gt, dt, results = lvis
    out, data = run_json(capsys, tmp_path, "eval", gt, dt, "--lvis", "--max-dets", "5")
    same(data["stats"], lvis_evaluate(gt, dt, "bbox", max_dets=5).results)
    assert "protocol: LVIS (federated; --lvis)" in out and "AR@5" in data["stats"]
    out, data = run_json(capsys, tmp_path, "eval", gt, dt, "--iou-type", "segm")
    same(data["stats"], lvis_evaluate(gt, dt, "segm").results)
    assert out.startswith("LVIS segm evaluation: 100 images") and data["iou_type"] == "segm"
    kept = [r for r in results if r["score"] >= 0.6]
    _, data = run_json(capsys, tmp_path, "eval", gt, dt, "--min-score", "0.6")
    same(data["stats"], lvis_evaluate(gt, kept, "bbox").results)
    # --coco: COCO's protocol on the LVIS file, as coco_evaluate gives it
    out, data = run_json(capsys, tmp_path, "eval", gt, dt, "--coco", "--per-class", "0")
    same(data["stats"], coco_evaluate(gt, dt, "bbox").as_dict())
    assert "protocol: COCO bbox (pycocotools' COCOeval; --coco)" in out


def test_eval_crowdpose_equals_api(crowdpose, capsys, tmp_path):
    out, data = run_json(capsys, tmp_path, "eval", *crowdpose)
    same(data["stats"], crowdpose_evaluate(*crowdpose))
    assert data["protocol"] == "crowdpose" and data["protocol_source"] == "detected"
    assert "detected from the ground truth)" in out and "type=  hard" in out
    sigmas = np.linspace(0.05, 0.1, 14)
    text = ",".join(repr(float(s)) for s in sigmas)
    out, data = run_json(
        capsys, tmp_path, "eval", *crowdpose, "--crowdpose", "--kpt-oks-sigmas", text
    )
    assert "protocol: CrowdPose (keypoints, OKS with 14 sigmas from --kpt-oks-sigmas; " in out
    assert "; --crowdpose)" in out
    same(data["stats"], crowdpose_evaluate(*crowdpose, kpt_oks_sigmas=sigmas))


def test_eval_crowdpose_sigmas_count_is_one_line(crowdpose, capsys):
    # 14 keypoints against COCO's 17 sigmas: the reader's error, naming the file
    message = f"ground truth file {crowdpose[0]!r}: ground-truth annotation 0"
    one_line(capsys, 1, message, "eval", *crowdpose, "--kpt-oks-sigmas", "coco")
    one_line(capsys, 1, "expected 51", "eval", *crowdpose, "--kpt-oks-sigmas", "coco")


# ------------------------------------------------------------------ panoptic


def test_panoptic_equals_api(shared_data, capsys, tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    monkeypatch.setenv("IOUKIT_PROGRESS", "1")
    d = shared_data / TF_DIR
    gt, pred = str(d / "coco_gt.json"), str(d / "coco_pred.json")
    out, data = run_json(capsys, tmp_path, "panoptic", gt, pred, "--per-class", "2")
    want = json.loads(json.dumps(panoptic_evaluate(gt, pred).as_dict()))
    for group in ("All", "Things", "Stuff"):
        same(data[group], want[group])
    assert data["per_class"] == want["per_class"] and data["images"] == 4
    assert "All       |  67.4   68.3   82.1     6" in out
    assert "  person                67.6  73.2  92.3     12      0      2 thing" in out
    assert "... 4 more" in out and "4 images, 6 categories (4 things, 2 stuff)" in out
    code, out, err = run(capsys, "panoptic", gt, pred, "--per-class", "--workers", "1")
    assert code == 0 and "sky" in out and "more" not in out
    assert "panoptic images" in err  # the progress bar


def test_panoptic_errors(shared_data, capsys, tmp_path):
    pytest.importorskip("PIL")
    d = shared_data / TF_DIR
    gt, pred = str(d / "coco_gt.json"), str(d / "coco_pred.json")
    missing = str(tmp_path / "x")
    message = f"ioukit: error: --pred-folder {missing} is not a folder"
    one_line(capsys, 1, message, "panoptic", gt, pred, "--pred-folder", missing)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    message = f"ioukit: error: ground truth {listed} has no 'annotations' list"
    one_line(capsys, 1, message, "panoptic", str(listed), pred, "--gt-folder", str(d / "coco_gt"))
    one_line(capsys, 1, "cannot read", "panoptic", gt, str(tmp_path / "none.json"))
    data = json.loads(open(pred).read())
    data["annotations"] = data["annotations"][1:]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(data))
    one_line(
        capsys, 1, "no prediction for the image", "panoptic", gt, str(short),
        "--pred-folder", str(d / "coco_pred"),
    )  # fmt: skip
    one_line(
        capsys, 2, "--workers: 0 is not from 1 to 1024", "panoptic", gt, pred, "--workers", "0"
    )


# ------------------------------------------------------------------ mistakes


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dilation-ratio", "0.1"], "--dilation-ratio needs --iou-type boundary"),
        (["--iou-type", "segm", "--kpt-oks-sigmas", "coco"], "--kpt-oks-sigmas needs"),
        (["--lvis", "--iou-type", "keypoints"], "--lvis evaluates bbox or segm"),
        (["--crowdpose", "--iou-type", "bbox"], "--crowdpose evaluates keypoints"),
        (["--lvis", "--iou-thresholds", "0.5"], "LVIS uses its own fixed thresholds"),
        (["--lvis", "--max-dets", "1,10"], "LVIS takes one value"),
        (["--crowdpose", "--max-dets", "10"], "CrowdPose keeps its fixed 20"),
        (["--crowdpose", "--plot", "x.png"], "--plot draws COCO's IoU histogram"),
        (["--lvis", "--coco"], "not allowed with argument"),
        (["--kpt-oks-sigmas", "0.1,abc"], "is not coco, crowdpose or a comma-separated"),
        (["--kpt-oks-sigmas", "0.1,-1"], "sigma -1 is not a positive number"),
        (["--dilation-ratio", "2"], "2 is not in [0, 1]"),
        (["--iou-type", "keypoints", "--kpt-oks-sigmas", "0.1,nan"], "sigma nan"),
    ],
)
def test_eval_option_mistakes_are_usage_errors(shapes, capsys, extra, message):
    one_line(capsys, 2, message, "eval", *shapes, *extra)


def test_eval_detected_protocol_mistakes(lvis, crowdpose, capsys, tmp_path):
    gt, dt, _ = lvis
    one_line(capsys, 1, "--iou-thresholds: LVIS uses", "eval", gt, dt, "--iou-thresholds", "0.5")
    one_line(capsys, 1, "--max-dets: CrowdPose", "eval", *crowdpose, "--max-dets", "5")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]))
    one_line(capsys, 1, f"detections file {str(bad)!r}", "eval", gt, str(bad), "--lvis")
    one_line(capsys, 1, "detection 0 (id 1) has no 'score'", "eval", gt, gt)
    bad.write_text("3")
    one_line(capsys, 1, f"detections file {str(bad)!r} is not a list", "eval", gt, str(bad))
    bad.write_text("{")
    one_line(capsys, 1, "is not valid JSON", "eval", str(bad), dt)
    bad.write_text("[1, 2]")  # not a dict: neither LVIS nor CrowdPose, COCO's reader says so
    message = f"ground truth file {str(bad)!r}: ground truth must be a COCO dict, got list"
    one_line(capsys, 1, message, "eval", str(bad), dt)
    one_line(capsys, 1, message, "eval", str(bad), dt, "--iou-type", "keypoints")
    data = json.loads(open(gt).read())
    data["categories"][5]["id"] = "x"
    bad.write_text(json.dumps(data))
    message = f"ground truth file {str(bad)!r}: ground-truth category 5 (id 'x') has id='x'"
    one_line(capsys, 1, message, "eval", str(bad), dt)


def test_eval_boundary_on_lvis_says_so(lvis, shared_data, capsys, tmp_path):
    gt, _, results = lvis
    dt = tmp_path / "segm.json"
    dt.write_text(json.dumps(results[:50]))
    out, data = run_json(capsys, tmp_path, "eval", gt, str(dt), "--iou-type", "boundary")
    assert "the ground truth is LVIS, which has no boundary protocol" in out
    same(data["stats"], coco_evaluate(gt, str(dt), "boundary").as_dict())


def test_eval_command_subprocess(kp):
    """The real command: exit 0, the table on stdout, the bar on stderr."""
    env = dict(os.environ, IOUKIT_PROGRESS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "ioukit", "eval", *kp, "--iou-type", "keypoints"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "protocol: COCO keypoints" in proc.stdout and "evaluating keypoints" in proc.stderr


# ------------------------------------------------------------------ Dask


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_scheduler_equals_one_process(
    scheduler, kp, shapes, lvis, crowdpose, shared_data, capsys, tmp_path
):
    """--scheduler for every protocol gives the numbers of one process."""
    d = shared_data / TF_DIR
    cases = [
        ("keypoints", ("eval", *kp, "--iou-type", "keypoints")),
        ("boundary", ("eval", *shapes, "--iou-type", "boundary")),
        ("lvis", ("eval", *lvis[:2])),
        ("crowdpose", ("eval", *crowdpose)),
        ("panoptic", ("panoptic", str(d / "coco_gt.json"), str(d / "coco_pred.json"))),
    ]
    for protocol, args in cases:
        _, alone = run_json(capsys, tmp_path, *args)
        remote_args = (*args, "--scheduler", scheduler)
        _, remote = run_json(capsys, tmp_path, *remote_args)
        keys = ("All", "Things", "Stuff", "per_class") if protocol == "panoptic" else ("stats",)
        for key in keys:
            assert remote[key] == alone[key], (args, key)
