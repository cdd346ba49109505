"""How the ``ioukit`` command reports trouble: one line for a user's mistake.

Exit codes: 0 success, 1 a mistake in the files or values (one line on stderr),
2 a command-line usage error, 70 an internal error (a bug: the traceback is printed
with a request to report it), 130 interrupted (Ctrl-C, quietly), 141 the reader of
stdout went away (``ioukit eval ... | head``, quietly, as a process killed by SIGPIPE).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
import warnings
import zlib
from collections.abc import Callable
from typing import Any

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


def os_error_text(err: OSError) -> str:
    """``cannot read X: no such file`` and the like, without Python's ``[Errno N]``."""
    name = err.filename
    reason = {
        errno.ENOENT: "no such file or folder",
        errno.EISDIR: "it is a folder, not a file",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "no space left on the device",
        errno.EROFS: "read-only file system",
        errno.ENXIO: "nothing reads from it",
    }.get(err.errno, err.strerror or str(err))
    if name is None:
        return f"{reason}" if err.strerror else str(err)
    return f"cannot read {name}: {reason}"


def check_writable(path: str, option: str) -> None:
    """Refuse an output path before the work starts (not after minutes of it).

    Opens the file for appending (creating it if missing, then removing it again),
    which is the one test that knows about permissions, folders, read-only mounts and
    full disks alike.
    """
    if os.path.isdir(path):
        raise ValueError(f"{option} {path}: it is a folder, not a file")
    existed = os.path.exists(path)
    try:  # O_NONBLOCK: a FIFO without a reader is refused (ENXIO), not waited on
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666))
    except OSError as err:
        reason = os_error_text(err).split(": ", 1)[-1]
        if err.errno == errno.ENOENT:
            reason = f"no folder {os.path.dirname(path) or '.'}"
        raise ValueError(f"{option} {path}: cannot write there: {reason}") from None
    if not existed:
        os.unlink(path)


def read_error(path: Any, what: str, err: BaseException) -> ValueError | None:
    """A one-line ValueError for a failure while reading ``path``, or None to re-raise.

    Covers what the JSON and gzip layers raise on hostile files: truncated or corrupt
    compressed streams, nesting too deep for the parser, numbers past what Python's
    parser converts.
    """
    if isinstance(err, EOFError):
        return ValueError(f"{what} file {path}: the compressed file is truncated")
    if isinstance(err, zlib.error) or type(err).__name__ == "BadGzipFile":
        return ValueError(f"{what} file {path}: not a valid gzip file ({err})")
    if isinstance(err, RecursionError):
        return ValueError(f"{what} file {path}: nested too deeply to be a COCO file")
    if isinstance(err, MemoryError):
        return ValueError(f"{what} file {path}: too large to load into memory")
    return None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _one_line_warning(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
    """Warnings on the command line: ``ioukit: warning: ...`` on one line, no source line."""
    text = " ".join(str(message).split())
    print(f"ioukit: warning: {text}", file=sys.stderr)


def run_guarded(handler: Callable[[], int]) -> int:
    """Run a command; translate every expected failure into one line and an exit code.

    Warnings the library emits (e.g. ground-truth ids starting at 0) print as one
    ``ioukit: warning:`` line each.
    """
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            code = int(handler())
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        _quiet_stdout()
        return EXIT_INTERRUPTED
    except OSError as err:
        message = os_error_text(err)
    except RecursionError:
        message = "the input is nested too deeply"
    except MemoryError as err:
        detail = str(err)
        message = "out of memory" + (f": {detail}" if detail else "")
    except (ValueError, TypeError, ImportError) as err:
        message = str(err)
    except Exception:  # a bug in ioukit, not the user's mistake: keep the traceback
        traceback.print_exc()
        print(
            "ioukit: internal error (a bug in ioukit, not your mistake); please report it "
            "to the maintainers with the command and the traceback above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    message = " ".join(message.split()) or "failed"
    print(f"ioukit: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def name_error(err: ValueError, gt: str, dt: str) -> ValueError:
    """``err`` with the file it is about in front (the API names no file it got loaded).

    Examples
    --------
    >>> name_error(ValueError("detection 3 has score 'x'"), "gt.json", "dt.json")
    ValueError("detections file 'dt.json': detection 3 has score 'x'")
    >>> name_error(ValueError("ground truth has no 'images' list"), "gt.json", "dt.json")
    ValueError("ground truth file 'gt.json': ground truth has no 'images' list")
    """
    text = str(err)
    if gt in text or dt in text:
        return err
    about_dt = text.split(": ", 1)[-1].startswith(("detection", "result"))
    path, what = (dt, "detections") if about_dt else (gt, "ground truth")
    return ValueError(f"{what} file {path!r}: {text}")
