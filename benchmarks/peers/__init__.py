"""Ratios against other libraries: the same inputs timed in the same process."""
