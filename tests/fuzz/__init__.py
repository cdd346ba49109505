"""Fuzz harness for ioukit: hostile inputs must give a result or a ValueError/TypeError.

Each target (one module per input family) turns a random generator into a case
(plain Python / NumPy data that can be printed) and runs the public functions
on it. :mod:`.runner` runs the cases in persistent worker processes started with
``NUMBA_BOUNDSCHECK=1``, a private numba cache and a memory limit, so that a
crash, a hang, an out-of-bounds access or a huge allocation is reported as a
failure of the case that caused it, with the ``TARGET:SEED:INDEX`` that replays it.

Run it with ``python tools/fuzz.py`` (see ``docs/reliability.md``); the bounded CI
run is ``tests/fuzz/test_fuzz.py``.
"""
