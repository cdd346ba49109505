"""Data-set evaluation: COCO AP/AR, its readers, the streaming metric, analyses."""
