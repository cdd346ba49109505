"""ioukit's test suite: one folder per family (see docs/dev/architecture.md).

The folders are packages, so test modules are imported by their full dotted name
(``tests.boxes.test_boxes_edges``): two families may hold files of the same name, and
the shared helpers import as ``tests.helpers.X`` from any depth.
"""
