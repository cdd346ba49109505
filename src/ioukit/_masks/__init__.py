"""Internals of the mask family (dense packing, the RLE set, conversions)."""
