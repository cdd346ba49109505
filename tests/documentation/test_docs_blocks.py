"""Every Python code block of README.md and docs/ runs as written.

The blocks of one file run in order in one namespace, from a temporary working
directory. A block written as a doctest (``>>>`` lines) is run as one, so its shown
output is checked too. A block that genuinely cannot run here (it needs a GPU, torch or
a cluster) is preceded by a marker naming why, and the test skips it:

* Markdown: ``<!-- skip-test: needs a GPU -->`` on the line before the fence;
* reStructuredText: ``.. skip-test: needs a GPU`` before the ``code-block``.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP = re.compile(r"^\s*(?:<!--\s*skip-test:(?P<md>.*?)-->|\.\.\s+skip-test:(?P<rst>.*))\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
RST_BLOCK = re.compile(r"^(?P<indent>\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*(?P<lang>\S*)")


def doc_files() -> list[Path]:
    files = [REPO / "README.md"]
    for pattern in ("*.md", "*.rst"):
        files += sorted(
            p for p in (REPO / "docs").rglob(pattern) if not {"_build", "_generated"} & set(p.parts)
        )
    return [f for f in files if f.is_file()]


def _skip_reason(lines: list[str], start: int) -> str | None:
    """The reason of a skip-test marker on the last non-blank line before ``start``."""
    i = start - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0:
        return None
    match = SKIP.match(lines[i])
    if not match:
        return None
    return (match.group("md") or match.group("rst") or "").strip() or "marked skip-test"


def _markdown_blocks(lines: list[str]) -> list[tuple[int, str, str | None]]:
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        ticks, info = match.group("ticks"), match.group("info").strip()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        language = info.split()[0].strip("{}") if info else ""
        if language in ("python", "py", "pycon"):
            indent = len(match.group("indent"))
            body = "\n".join(line[indent:] for line in lines[i + 1 : end])
            blocks.append((i + 1, body, _skip_reason(lines, i)))
        i = end + 1
    return blocks


def _rst_blocks(lines: list[str]) -> list[tuple[int, str, str | None]]:
    blocks = []
    for i, line in enumerate(lines):
        match = RST_BLOCK.match(line)
        if not match or match.group("lang") not in ("python", "py", "pycon"):
            continue
        base = len(match.group("indent"))
        body, j = [], i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" " * (base + 1))):
            body.append(lines[j])
            j += 1
        indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
        code = "\n".join(b[indent:] for b in body if not b.strip().startswith(":"))
        blocks.append((i + 1, code.strip("\n"), _skip_reason(lines, i)))
    return blocks


def code_blocks(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, code, skip reason or None) of each Python block of a Markdown or rst file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return _rst_blocks(lines) if path.suffix == ".rst" else _markdown_blocks(lines)


def _run_block(code: str, namespace: dict, where: str) -> None:
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, namespace, where, where, 0)
        runner = doctest.DocTestRunner(
            optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False
        )
        report: list[str] = []
        runner.run(test, out=report.append, clear_globs=False)
        if runner.failures:
            pytest.fail(f"{where}: doctest failed\n" + "".join(report), pytrace=False)
        return
    exec(compile(code, where, "exec"), namespace)


FILES = [f for f in doc_files() if code_blocks(f)]


@pytest.mark.parametrize("path", FILES, ids=[str(f.relative_to(REPO)) for f in FILES])
def test_code_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for line, code, skip in code_blocks(path):
        if skip is not None:
            continue
        _run_block(code, namespace, f"{path.relative_to(REPO)}:{line}")
        ran += 1
    if ran == 0:
        pytest.skip("every block is marked skip-test")


def test_the_extractor_sees_markers_and_both_syntaxes(tmp_path):
    md = tmp_path / "a.md"
    md.write_text(
        "text\n```python\nx = 1\n```\n<!-- skip-test: needs a GPU -->\n```python\ny = 2\n```\n"
        "```text\nnot python\n```\n"
    )
    assert code_blocks(md) == [(2, "x = 1", None), (6, "y = 2", "needs a GPU")]
    rst = tmp_path / "b.rst"
    rst.write_text(".. code-block:: python\n\n   a = 1\n   b = a\n\nafter\n")
    assert code_blocks(rst) == [(1, "a = 1\nb = a", None)]


def test_every_skip_is_rare():
    """Skipped blocks are the exception: at most a few over all the docs."""
    skipped = [(f, line) for f in FILES for line, _, skip in code_blocks(f) if skip is not None]
    assert len(skipped) <= 5, skipped
