"""Gain units (Cui et al., "Asymmetric gained deep image compression with continuous rate
adaptation", CVPR 2021): one positive gain per channel for each trained rate level.

A level ``s`` in ``[0, L-1]`` between two trained levels takes their gains' geometric
interpolation (``rate.interpolate``), so one model covers a continuous range of rates.
"""

import torch
from torch import nn

from ..rate import interpolate


class GainUnit(nn.Module):
    """Multiplies NCHW ``x`` channel-wise by the gains of level ``s`` (one level per image)."""

    def __init__(self, levels: int, channels: int):
        super().__init__()
        if levels < 2:
            raise ValueError("gain units need at least two levels")
        self.log_gain = nn.Parameter(torch.zeros(levels, channels))

    def gains(self, s: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``s``: levels, shape (B,) -> gains of shape (B, C, 1, 1), float32 (or float64)."""
        return torch.exp(interpolate(self.log_gain.to(dtype), s))[:, :, None, None]

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """float64 ``x`` (the entropy path) gets gains computed in float64; others float32 gains."""
        return x * self.gains(s, torch.float64 if x.dtype == torch.float64 else torch.float32).to(x.dtype)
