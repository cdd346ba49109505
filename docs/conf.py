"""Sphinx configuration of the ioukit documentation (built with -W in CI)."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

project = "ioukit"
author = "ioukit developers"
copyright = "2026, ioukit developers"
release = __import__("ioukit").__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_data", "_generated/*.txt"]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["myst.header"]
html_theme = "pydata_sphinx_theme"
html_title = "ioukit"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}
intersphinx_mapping = {}


def _generate(app):
    """Draw the figures and capture the command-line output the pages include."""
    out = HERE / "_generated"
    out.mkdir(exist_ok=True)
    import figures  # docs/figures.py

    figures.draw_all(out)
    import figures_rotated  # docs/figures_rotated.py

    figures_rotated.draw_all(out)
    import plot_benchmarks  # docs/plot_benchmarks.py

    plot_benchmarks.draw(HERE / "_data" / "boxes.json", out)
    import figures_training  # docs/figures_training.py

    figures_training.draw_all(out)
    from ioukit.data import sample_path

    gt, bbox = str(sample_path("gt")), str(sample_path("bbox"))
    _capture(out / "demo.txt", ["demo"])
    for kind in ("pr", "errors"):
        _capture(out / f"analyze_{kind}.txt", ["analyze", kind, gt, bbox, "--per-class", "3"])


def _capture(path, args):
    """Write the output of ``ioukit ARGS`` to ``path`` (kept unless IOUKIT_DOCS_RERUN)."""
    if path.exists() and not os.environ.get("IOUKIT_DOCS_RERUN"):
        return
    env = dict(os.environ, IOUKIT_PROGRESS="0", PYTHONPATH=str(HERE.parent / "src"))
    text = subprocess.run(
        [sys.executable, "-m", "ioukit", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    path.write_text(text)


def setup(app):
    app.connect("builder-inited", _generate)
