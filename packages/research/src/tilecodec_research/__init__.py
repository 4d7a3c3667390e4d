"""Weights of tilecodec's research and reference models; tilecodec's zoo reads ``WEIGHTS``."""

from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
