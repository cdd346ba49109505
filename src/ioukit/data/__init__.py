"""The small embedded COCO sample that ``ioukit demo`` evaluates (see NOTICE.md)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_path(name: str) -> Path:
    """Path of an embedded file: ``"gt"``, ``"bbox"`` or ``"segm"``.

    Examples
    --------
    >>> sample_path("gt").name
    'instances_val2014_100.json.gz'
    """
    files = {
        "gt": "instances_val2014_100.json.gz",
        "bbox": "instances_val2014_fakebbox100_results.json.gz",
        "segm": "instances_val2014_fakesegm100_results.json.gz",
    }
    return Path(str(resources.files(__name__) / files[name]))
