"""Shared test helpers, imported as ``tests.helpers.X`` (conftest.py keeps only fixtures).

* ``paths``: the repository root and the shared real-data folder;
* ``boxes``: random valid boxes;
* ``masks``: random realistic masks and polygons;
* ``reference``: plain NumPy float64 reference implementations (the oracle);
* ``coco``: pycocotools' COCOeval on the same inputs;
* ``safety``: running a risky call in a fresh interpreter.
"""
