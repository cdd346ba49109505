"""The results reader is a strict RFC 8259 reader: the whole JSONTestSuite conformance
set (test_parsing/) goes through its compiled grammar, its JSON entry point and the
full ``read_detections`` path.

- ``n_*`` files: rejected everywhere (the compiled grammar says FAIL, the parser
  raises ValueError "is not valid JSON"; never a RecursionError or a crash).
- ``y_*`` files: parse. The compiled grammar accepts them except those with non-ASCII
  bytes (it leaves those to the JSON parser); ``read_detections`` either reads them
  or says "must be a list of results" (never "not valid JSON").
- ``i_*`` files (implementation-defined): either parsed or a ValueError, nothing
  else; ``I_REJECTED`` records which are rejected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ioukit.evaluate.readers import parse_json, read_detections, read_ground_truth
from ioukit.evaluate.results_reader import _scan
from ioukit.kernels import cpu_json

REPO = Path(__file__).resolve().parents[2]
SUITE = (
    Path(os.environ.get("IOUKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "jsontestsuite"
    / "test_parsing"
)
FILES = sorted(p.name for p in SUITE.glob("*.json")) if SUITE.is_dir() else []
GT = {"images": [{"id": 1, "height": 4, "width": 4}], "categories": [{"id": 1}], "annotations": []}

# i_ files the parser rejects (ValueError): invalid UTF-8, UTF-16 files and a UTF-8
# BOM (RFC 8259 8.1 asks for UTF-8; pycocotools refuses them too). All other i_ files
# parse: numbers past double or int64 (as floats / Python ints; the result checks then
# refuse them), lone surrogate escapes, 500 nested arrays.
I_REJECTED = {
    "i_string_UTF-16LE_with_BOM.json",
    "i_string_utf16BE_no_BOM.json",
    "i_string_utf16LE_no_BOM.json",
    "i_structure_UTF-8_BOM_empty_object.json",
    "i_string_UTF8_surrogate_U+D800.json",  # a surrogate encoded in UTF-8 is invalid UTF-8
    "i_string_UTF-8_invalid_sequence.json",
    "i_string_invalid_utf-8.json",
    "i_string_iso_latin_1.json",
    "i_string_lone_utf8_continuation_byte.json",
    "i_string_not_in_unicode_range.json",
    "i_string_overlong_sequence_2_bytes.json",
    "i_string_overlong_sequence_6_bytes.json",
    "i_string_overlong_sequence_6_bytes_null.json",
    "i_string_truncated-utf-8.json",
}

if not FILES:
    pytest.skip(f"JSONTestSuite not found at {SUITE}", allow_module_level=True)


@pytest.fixture(params=["standard", "fast"])
def both_paths(request, monkeypatch):
    """The small-file path (the standard json module alone) and the large-file path
    (orjson behind its guard, the compiled results scanner): the size threshold moved."""
    from ioukit.evaluate import readers

    if request.param == "fast":
        monkeypatch.setattr(readers, "FAST_JSON_BYTES", 0)
    return request.param


def test_the_suite_is_complete():
    kinds = {k: sum(name.startswith(k) for name in FILES) for k in "yni"}
    assert kinds["y"] >= 90 and kinds["n"] >= 180 and kinds["i"] >= 30


@pytest.mark.parametrize("name", FILES)
def test_conformance(both_paths, name, tmp_path):
    raw = (SUITE / name).read_bytes()
    buf = np.frombuffer(raw, dtype=np.uint8)
    verdict = cpu_json.validate(buf)
    truth = read_ground_truth(GT, "bbox")
    path = tmp_path / "dt.json"
    path.write_bytes(raw)
    if name.startswith("n_"):
        assert verdict == cpu_json.FAIL
        assert _scan(raw, True) is None and _scan(raw, False) is None
        with pytest.raises(ValueError, match="is not valid JSON"):
            parse_json(raw, "case")
        with pytest.raises(ValueError, match=r"dt\.json.* is not valid JSON"):
            read_detections(path, truth, "bbox")
    elif name.startswith("y_"):
        assert verdict == cpu_json.OK or max(raw) >= 128
        value = parse_json(raw, "case")
        assert value == json.loads(raw) or value != value  # the standard parser agrees
        try:
            read_detections(path, truth, "bbox")
        except ValueError as err:
            assert "not valid JSON" not in str(err)
            assert "list of results" in str(err) or "detection 0" in str(err)
    else:
        if name in I_REJECTED:
            with pytest.raises(ValueError, match="is not valid JSON"):
                parse_json(raw, "case")
        else:
            parse_json(raw, "case")
        try:  # the full path: read, or a ValueError
            read_detections(path, truth, "bbox")
        except ValueError:
            pass


DEEP_SCRIPT = r"""
import sys
from ioukit.evaluate.readers import read_detections, read_ground_truth
truth = read_ground_truth({"images": [{"id": 1}], "annotations": []}, "bbox")
cases = [
    "[" * 2_000_000 + "]" * 2_000_000,
    '[{"image_id": 1, "x": ' + "[" * 5_000 + "]" * 5_000 + "}]",
    "[" * 100_000,
]
for text in cases:
    open(sys.argv[1], "w").write(text)
    try:
        read_detections(sys.argv[1], truth, "bbox")
    except ValueError as err:
        print(str(err).replace(sys.argv[1], "FILE"))
"""


def test_deep_nesting_is_a_value_error_naming_the_file(tmp_path):
    """Deep nesting never reaches a parser that recurses on the C stack (orjson 3.8
    segfaults near 10**7 levels) and never escapes as RecursionError. In a subprocess."""
    env = dict(
        os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    run = subprocess.run(
        [sys.executable, "-c", DEEP_SCRIPT, str(tmp_path / "deep.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert line == "detections file 'FILE' is not valid JSON: nested too deeply"


BOUNDS_SCRIPT = r"""
import sys
import numpy as np
from ioukit.kernels import cpu_json
from ioukit.evaluate.results_reader import _scan
text = open(sys.argv[1], "rb").read()
ok = 0
for cut in range(len(text) + 1):
    part = text[:cut]
    for masks in (True, False):
        found = _scan(part, masks)
        ok += found is not None
    cpu_json.validate(np.frombuffer(part, dtype=np.uint8))
print("accepted", ok)
"""


def test_truncated_files_are_bounds_checked(tmp_path):
    """Every prefix of a results file, scanned with NUMBA_BOUNDSCHECK=1 in a subprocess:
    no read past the buffer (an IndexError there), and only the whole file (and the
    prefixes that end after its closing bracket) is accepted."""
    text = (
        '[{"image_id": 1, "category_id": 1, "bbox": [0, 0.5, 1e1, 2], "score": 0.25,'
        ' "segmentation": {"size": [4, 4], "counts": "0\\\\\\/\\"1"}, "x": [true, null, {"a": -0}]}]'
    )
    (tmp_path / "dt.json").write_text(text)
    from tests.fuzz.runner import default_cache_dir  # the fuzz workers' bounds-checked cache

    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(default_cache_dir()))
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run(
        [sys.executable, "-c", BOUNDS_SCRIPT, str(tmp_path / "dt.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["accepted", "2"]  # the whole file, masks and boxes
