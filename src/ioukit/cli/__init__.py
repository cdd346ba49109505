"""The ``ioukit`` command line."""

from .main import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
