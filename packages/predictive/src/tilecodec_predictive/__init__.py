"""Weights of tilecodec's predictive-coding families; tilecodec's zoo reads ``WEIGHTS``."""

from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
