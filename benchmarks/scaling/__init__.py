"""Dask scaling of box_iou and the memory of the sparse threshold= path."""
