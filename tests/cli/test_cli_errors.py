"""Every command-line mistake is one line on stderr and a non-zero exit: in process
(``tests/helpers/cli.py``), in a subprocess where the process itself is tested."""

from __future__ import annotations

import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from ioukit.data import sample_path
from tests.helpers.cli import run_ioukit, run_ioukit_subprocess

GT = str(sample_path("gt"))
DT = str(sample_path("bbox"))


def one_line(proc: subprocess.CompletedProcess, code: int, message: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr, proc.stderr


def _png(width: int, height: int, data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(data, 9))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def folders(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8)).save(gt / "a.png")
    Image.fromarray(np.array([[0, 1], [2, 2]], np.uint8)).save(pred / "a.png")
    return gt, pred


def test_eval_file_mistakes(tmp_path):
    truncated = tmp_path / "t.json.gz"
    truncated.write_bytes(gzip.compress(Path(DT).read_bytes())[:3000])
    not_gzip = tmp_path / "n.json.gz"
    not_gzip.write_bytes(b"plain text")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([{"image_id": "x", "category_id": 1, "bbox": [0, 0, 1, 1]}]))
    huge = tmp_path / "huge.json"
    huge.write_text(
        '[{"image_id": 99999999999999999999999, "category_id": 1, "bbox": [0,0,1,1], "score": 1}]'
    )
    cases = [
        (
            [GT, str(truncated)],
            f"detections file '{truncated}' is not a readable gzip file",
        ),
        (
            [str(truncated), DT],
            f"ground truth file '{truncated}' is not a readable gzip file",
        ),
        ([GT, str(not_gzip)], "is not a readable gzip file"),
        ([GT, str(deep)], "detection"),
        ([GT, str(wrong)], "image id 'x'"),
        ([GT, str(huge)], "detection 0 has image id"),
        ([GT, "missing.json"], "cannot read missing.json: no such file"),
        ([GT, str(tmp_path)], f"detections {tmp_path} is a folder, not a file"),
        ([str(tmp_path), DT], f"ground truth {tmp_path} is a folder, not a file"),
    ]
    for args, message in cases:
        # the file nested 100,000 deep tests a guard against a C-stack overflow: own process
        run = run_ioukit_subprocess if str(deep) in args else run_ioukit
        one_line(run("eval", *args, "--per-class", "0"), 1, message)


def test_deeply_nested_ground_truth(tmp_path):
    """json.loads raises RecursionError; orjson before 3.9.15 overflows the C stack
    (CVE-2024-27454), which the JSON loader must avoid."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    proc = run_ioukit_subprocess("eval", str(deep), DT)  # may overflow the C stack
    try:
        import orjson

        old = tuple(int(v) for v in orjson.__version__.split(".")[:3]) < (3, 9, 15)
    except ImportError:
        old = False
    if old and proc.returncode < 0:
        pytest.xfail("orjson < 3.9.15 crashes on deep nesting (the JSON loader uses it)")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_output_paths_are_checked_before_the_work(tmp_path):
    one_line(
        run_ioukit("eval", GT, DT, "--json", str(tmp_path / "no" / "r.json")),
        1,
        f"--json {tmp_path / 'no' / 'r.json'}: cannot write there: no folder",
    )
    one_line(run_ioukit("eval", GT, DT, "--json", str(tmp_path)), 1, "it is a folder, not a file")
    pytest.importorskip("matplotlib")
    one_line(
        run_ioukit("eval", GT, DT, "--plot", str(tmp_path / "no" / "p.png")),
        1,
        "--plot",
    )
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--threshold", "2"], "argument --threshold: 2 is not in [0, 1]"),
        (["--iou-thresholds", "0.9:0.5:0.1"], "is not START:STOP:STEP"),
        (["--max-dets", "0"], "one to ten counts"),
        (["--per-class", "-1"], "-1 is negative"),
        (["--iou-thresholds", "0:1:1e-9"], "more than 1000 thresholds"),
        (["--min-score", "nan"], "nan is not a finite number"),
    ],
)
def test_eval_usage_errors_are_one_line(args, message):
    one_line(run_ioukit("eval", GT, DT, *args), 2, message)


def test_semseg_mistakes(folders, tmp_path):
    gt, pred = folders
    cases = [
        (["--num-classes", "1000000000"], 1, "confusion matrices, about"),
        (["--num-classes", "1e9"], 2, "argument --num-classes: '1e9' is not a whole number"),
        (["--num-classes", "0"], 1, "--num-classes must be at least 1"),
        (
            ["--num-classes", "2"],
            1,
            "a.png: ground-truth label 2 at index (1, 0) is outside [0, 2) (--ignore-index skips it)",
        ),
        (["--num-classes", "3", "--ignore-index", str(2**64)], 2, "is past int64"),
        (
            ["--num-classes", "3", "--reduce-labels", "--ignore-index", "1"],
            1,
            "--ignore-index 1 is a class",
        ),
        (["--num-classes", "3", "--colors", str(tmp_path / "none.txt")], 1, "no such file"),
        (["--num-classes", "3", "--class-names", str(tmp_path)], 1, "it is a folder, not a file"),
        (["--num-classes", "3", "--json", str(tmp_path)], 1, "--json"),
    ]
    for args, code, message in cases:
        one_line(run_ioukit("semseg", str(gt), str(pred), *args), code, message)
    one_line(
        run_ioukit("semseg", str(gt / "a.png"), str(pred), "--num-classes", "3"),
        1,
        "is not a folder",
    )


def _pair(tmp_path, name: str, data: bytes) -> tuple[Path, Path]:
    gt, pred = tmp_path / name / "gt", tmp_path / name / "pred"
    gt.mkdir(parents=True)
    pred.mkdir()
    (gt / "a.png").write_bytes(data)
    (pred / "a.png").write_bytes(data)
    return gt, pred


def test_semseg_hostile_images(tmp_path):
    pytest.importorskip("PIL")
    declared = _png(100_000, 100_000, b"\0" * 100)  # 69 bytes claiming 10^10 pixels
    bomb = _png(12_000, 9_000, b"\0" * (12_001 * 9_000))  # 100 kB, 108 million pixels
    good = _png(2, 2, b"\0\0\0\0\0\0")
    for name, data, message in [
        ("declared", declared, "is too large to decode"),
        ("bomb", bomb, "is 12000 x 9000 = 108,000,000 pixels, over the limit"),
        ("garbage", b"not a png", "is not a readable image"),
        ("truncated", good[:30], "is not a readable image"),
    ]:
        gt, pred = _pair(tmp_path, name, data)
        one_line(run_ioukit("semseg", str(gt), str(pred), "--num-classes", "3"), 1, message)


def test_semseg_colour_images_need_colors(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    gt, pred = tmp_path / "g", tmp_path / "p"
    gt.mkdir()
    pred.mkdir()
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    Image.fromarray(rgb).save(gt / "a.png")
    Image.fromarray(rgb).save(pred / "a.png")
    one_line(
        run_ioukit("semseg", str(gt), str(pred), "--num-classes", "2"),
        1,
        "give its colour table with --colors FILE",
    )
    table = tmp_path / "colors.txt"
    table.write_text("0 0 0\n255,0,0\n")
    proc = run_ioukit("semseg", str(gt), str(pred), "--num-classes", "2", "--colors", str(table))
    assert proc.returncode == 0 and "mIoU 1.0000" in proc.stdout, proc.stderr
    table.write_text("0 0 0\n300 0 0\n")
    proc = run_ioukit("semseg", str(gt), str(pred), "--num-classes", "2", "--colors", str(table))
    one_line(proc, 1, f"--colors {table} line 2: expected 'R G B'")
    table.write_bytes(b"\xff\xfe\x00")
    one_line(
        run_ioukit("semseg", str(gt), str(pred), "--num-classes", "2", "--colors", str(table)),
        1,
        "is not UTF-8 text",
    )


def _shell(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, IOUKIT_PROGRESS="0")
    return subprocess.run(
        ["bash", "-c", code], capture_output=True, text=True, timeout=900, env=env
    )


def test_closed_pipe_is_quiet():
    command = f"{sys.executable} -m ioukit eval {GT} {DT} --per-class 80"
    proc = _shell(f'{command} | head -n 1; echo "status=${{PIPESTATUS[0]}}"')
    assert proc.stderr == "", proc.stderr
    assert proc.stdout.startswith("COCO bbox evaluation")
    assert proc.stdout.strip().endswith(("status=0", "status=141"))
    # the reader is gone long before the first write: always a broken pipe
    proc = _shell(f'{command} | true; echo "status=${{PIPESTATUS[0]}}"')
    assert proc.stderr == "" and proc.stdout.strip() == "status=141", proc


def test_ctrl_c_exits_130_quietly():
    script = (
        "import sys, time; from ioukit.cli.errors import run_guarded; "
        "print('ready', flush=True); sys.exit(run_guarded(lambda: time.sleep(60)))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == ""


def test_internal_errors_keep_the_traceback_and_ask_for_a_report(capsys):
    from ioukit.cli.errors import EXIT_INTERNAL, run_guarded

    def bug() -> int:
        raise KeyError("oops")

    assert run_guarded(bug) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err and "please report it" in err


def test_memory_and_recursion_errors_are_one_line(capsys):
    from ioukit.cli.errors import run_guarded

    def too_big() -> int:
        raise MemoryError("Unable to allocate 8 EiB")

    def too_deep() -> int:
        raise RecursionError

    assert run_guarded(too_big) == 1
    assert capsys.readouterr().err == "ioukit: error: out of memory: Unable to allocate 8 EiB\n"
    assert run_guarded(too_deep) == 1
    assert capsys.readouterr().err == "ioukit: error: the input is nested too deeply\n"


def test_warnings_are_one_line(capsys):
    import warnings

    from ioukit.cli.errors import run_guarded

    def warns() -> int:
        warnings.warn("ground-truth annotation ids\n start at 0", UserWarning, stacklevel=1)
        return 0

    assert run_guarded(warns) == 0
    assert capsys.readouterr().err == "ioukit: warning: ground-truth annotation ids start at 0\n"
