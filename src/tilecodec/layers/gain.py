"""Gain units (Cui et al., "Asymmetric gained deep image compression with continuous rate
adaptation", CVPR 2021): one positive gain per channel for each trained rate level.

A level ``s`` in ``[0, L-1]`` between two trained levels takes their gains' geometric
interpolation, so one model covers a continuous range of rates.
"""

import torch
from torch import nn


def interpolate_levels(table: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` (L x C) linearly interpolated at levels ``s`` (B,), clamped to
    [0, L-1]; returns B x C. On log values this is geometric interpolation."""
    levels = table.shape[0]
    s = s.float().clamp(0, levels - 1)
    lo = s.floor().long().clamp(max=max(levels - 2, 0))
    hi = (lo + 1).clamp(max=levels - 1)
    t = (s - lo).unsqueeze(1)
    return (1 - t) * table[lo] + t * table[hi]


class GainUnit(nn.Module):
    """Multiplies NCHW ``x`` channel-wise by the gains of level ``s`` (one level per image)."""

    def __init__(self, levels: int, channels: int):
        super().__init__()
        if levels < 2:
            raise ValueError("gain units need at least two levels")
        self.log_gain = nn.Parameter(torch.zeros(levels, channels))

    @property
    def levels(self) -> int:
        return self.log_gain.shape[0]

    def gains(self, s: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``s``: levels, shape (B,) -> gains of shape (B, C, 1, 1), float32 (or float64)."""
        return torch.exp(interpolate_levels(self.log_gain.to(dtype), s))[:, :, None, None]

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """float64 ``x`` (the entropy path) gets gains computed in float64; others float32 gains."""
        return x * self.gains(s, torch.float64 if x.dtype == torch.float64 else torch.float32).to(x.dtype)
