"""Masks: mask_iou over dense, sparse and RLE inputs, the RLE codec, polygons, crash safety."""
