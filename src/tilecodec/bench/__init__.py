"""Evaluation: classical codecs, sweeps, BD-rate, RD plots and visual reports.

This package measures tilecodec through its public API (``api.load``), exactly as a user
would, so it sits above ``api`` in the layering.
"""

from .bdrate import bd_quality, bd_rate
from .run import run_bench

__all__ = ["bd_rate", "bd_quality", "run_bench"]
