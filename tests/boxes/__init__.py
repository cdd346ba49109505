"""Boxes: box_iou and relatives, threshold=, box_area/box_convert, input kinds and dtypes."""
