"""Internals of the box family (the sparse threshold grid, rotated boxes)."""
