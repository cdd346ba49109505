"""Run the ``ioukit`` command in this process, as a subprocess would see it.

A fresh ``python -m ioukit`` pays numba's import and cache loading (about a second of
CPU) on every call, and the command-line tests make about a hundred calls. ``run_ioukit``
calls :func:`ioukit.cli.main.main` instead and hands back what ``subprocess.run(...,
capture_output=True, text=True)`` would: the exit code, stdout and stderr as text, with
the working folder, the environment, the twin mode and the warning filters of a fresh
interpreter for the call. Exceptions other than ``SystemExit`` propagate (a failing
test shows the traceback). Tests about the process itself (a closed pipe, signals, a
parser that could overflow the C stack, the demo) use ``run_ioukit_subprocess``, and
so does one test per command.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from ioukit._core import twins
from ioukit.cli.main import main

# The twin mode of an in-process run: the test processes' "shadow" (the root
# conftest.py), which runs the kernels and checks every NumPy twin that a
# ``python -m ioukit`` subprocess ("auto") would run against them; the real
# subprocess tests run "auto" itself.
IN_PROCESS_TWIN_MODE = "shadow"


def _stream() -> io.TextIOWrapper:
    """A text stream with a ``.buffer`` (as ``sys.stdout`` has), not a terminal and
    without a file descriptor (a broken-pipe handler cannot touch pytest's own)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    data = stream.buffer.getvalue().decode("utf-8", errors="replace")
    # what text=True reads from a pipe: universal newlines (a progress bar's "\r" too)
    return data.replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _fresh_process_state(cwd: str | Path | None) -> Iterator[None]:
    """The working folder, the twin mode and Python's default warning filters of a
    new interpreter (pytest's filters would show warnings a user never sees), for the
    call only."""
    folder = os.getcwd()
    mode = twins.DEFAULT_TWIN_MODE
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category in (
            ("ignore", ResourceWarning),
            ("ignore", ImportWarning),
            ("ignore", PendingDeprecationWarning),
            ("ignore", DeprecationWarning),
        ):
            warnings.filterwarnings(action, category=category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        try:
            if cwd is not None:
                os.chdir(cwd)
            twins.DEFAULT_TWIN_MODE = IN_PROCESS_TWIN_MODE
            yield
        finally:
            twins.DEFAULT_TWIN_MODE = mode
            os.chdir(folder)


def run_ioukit(
    *args: str | os.PathLike[str],
    cwd: str | Path | None = None,
    progress: bool = False,
    env: Mapping[str, str | None] | None = None,
) -> subprocess.CompletedProcess:
    """``ioukit ARGS...`` in this process; returns what ``subprocess.run`` would.

    Parameters
    ----------
    *args
        The command line after ``ioukit`` (paths are turned into strings).
    cwd
        The working folder for the call (restored afterwards).
    progress
        Sets ``IOUKIT_PROGRESS`` to ``"1"`` (else ``"0"``) for the call.
    env
        More environment variables for the call; a value None removes one. All are
        restored afterwards.

    Returns
    -------
    subprocess.CompletedProcess
        ``args`` (``["ioukit", ...]``), ``returncode`` (``SystemExit``'s code for
        usage errors, ``--help`` and ``--version``), ``stdout`` and ``stderr`` as text.

    Examples
    --------
    >>> proc = run_ioukit("--help")
    >>> proc.returncode, proc.stdout.startswith("usage: ioukit")
    (0, True)
    >>> run_ioukit("nonsense").returncode
    2
    """
    argv = [os.fspath(arg) for arg in args]
    changes: dict[str, str | None] = {"IOUKIT_PROGRESS": "1" if progress else "0"}
    changes.update(env or {})
    out, err = _stream(), _stream()
    with (
        _environment(changes),
        _fresh_process_state(cwd),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:  # sys.exit("message"): the message on stderr, status 1
                print(exc.code, file=sys.stderr)
                code = 1
    return subprocess.CompletedProcess(["ioukit", *argv], code, _text(out), _text(err))


def run_ioukit_subprocess(
    *args: str | os.PathLike[str],
    cwd: str | Path | None = None,
    progress: bool = False,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """``python -m ioukit ARGS...`` in a new interpreter: for the tests about the process
    itself, and one real run per command. Same arguments as :func:`run_ioukit`."""
    environ = dict(os.environ, IOUKIT_PROGRESS="1" if progress else "0")
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, "-m", "ioukit", *map(os.fspath, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        cwd=cwd,
    )
