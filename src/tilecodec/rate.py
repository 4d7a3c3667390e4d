"""Rate control: quality -> rate level -> quantization step, gains, scale floors and lambda.

``quality`` runs from 0 to 100 (stored in files as float32). A model with gain units (Cui
et al., CVPR 2021) trained at L lambdas maps it to a continuous level
``level = quality / 100 * (L - 1)``; every per-level quantity (gains, scale floors, lambda)
is interpolated linearly between the two trained levels around it, on log values, so
geometrically. A model without gain units scales the latent quantization step instead,
``step = 2 ** ((50 - quality) / 25)`` (Theis et al., 2017), or has a fixed rate.

``interpolate`` is the one interpolation, on tensors (training: one level per crop);
``interpolate_exact`` mirrors it in correctly rounded decimal arithmetic for the exact
entropy path (``entropy.paths.FixedPointPath``).
"""

import decimal
import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ParameterError

DECIMAL = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)


def check_quality(quality: float) -> float:
    """``quality`` as the float32 value a file stores; ParameterError outside [0, 100]."""
    try:
        q = float(quality)
    except (TypeError, ValueError):
        raise ParameterError(f"quality must be a number between 0 and 100, got {quality!r}") from None
    if not 0.0 <= q <= 100.0:
        raise ParameterError(f"quality must be between 0 and 100, got {quality}")
    return float(np.float32(q))


def step_for_quality(quality: float) -> float:
    """The latent quantization step for a quality in [0, 100] (models without gain units)."""
    return float(np.float32(2.0 ** ((50.0 - check_quality(quality)) / 25.0)))


def interpolate(table: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` (L x C) interpolated linearly at ``levels`` (B,), clamped to
    [0, L-1]: B x C. On log values this is geometric interpolation. The weights are float32
    (levels are float32 everywhere), the result has the table's dtype or float32."""
    count = table.shape[0]
    s = levels.float().clamp(0, count - 1)
    lo = s.floor().long().clamp(max=max(count - 2, 0))
    hi = (lo + 1).clamp(max=count - 1)
    t = (s - lo).unsqueeze(1)
    return (1 - t) * table[lo] + t * table[hi]


def interpolate_exact(values: tuple[decimal.Decimal, ...], level: float) -> decimal.Decimal:
    """``interpolate`` of one column of per-level ``values`` at one ``level``, in decimal."""
    count = len(values)
    s = min(max(level, 0.0), count - 1.0)
    lo = min(math.floor(s), max(count - 2, 0))
    hi = min(lo + 1, count - 1)
    with decimal.localcontext(DECIMAL):
        t = decimal.Decimal(s) - lo
        return (1 - t) * values[lo] + t * values[hi]


@dataclass(frozen=True)
class RatePoint:
    """Everything a quality decides, frozen: encoder and decoder derive the same point from
    the quality a file stores. ``level`` is a float32 value (None without gain units),
    ``lmbda`` the trained trade-off at that level (None without trained lambdas)."""

    quality: float
    level: float | None
    step: float
    lmbda: float | None

    def levels(self, batch: int = 1) -> torch.Tensor | None:
        """The level as the (batch,) float32 tensor the training-path modules take."""
        return None if self.level is None else torch.full((batch,), self.level)


class RateControl:
    """The rate control of one model: its trained lambdas (gain-unit levels, ascending; empty
    without gain units) and whether a model without them scales its quantization step."""

    def __init__(self, lmbdas=(), variable_step: bool = True):
        self.lmbdas = tuple(float(v) for v in lmbdas)
        self.variable_step = variable_step

    @property
    def variable_rate(self) -> bool:
        return bool(self.lmbdas) or self.variable_step

    def point(self, quality: float) -> RatePoint:
        """The rate point of ``quality``; ParameterError outside [0, 100]."""
        q = check_quality(quality)
        if self.lmbdas:
            level = float(np.float32(q / 100.0 * (len(self.lmbdas) - 1)))
            return RatePoint(q, level, 1.0, float(self.lmbda(torch.tensor([level]))[0]))
        return RatePoint(q, None, step_for_quality(q) if self.variable_step else 1.0, None)

    def lmbda(self, levels: torch.Tensor) -> torch.Tensor:
        """The trained lambda at each of ``levels`` (B,), geometric between trained levels."""
        log_lmbdas = torch.log(torch.tensor(self.lmbdas, dtype=torch.float64))[:, None]
        return torch.exp(interpolate(log_lmbdas, levels))[:, 0].float()

    def level_qualities(self) -> list[float]:
        """The quality of each trained level (75 alone for a model without levels)."""
        n = len(self.lmbdas)
        return [100.0 * k / (n - 1) for k in range(n)] if n > 1 else [75.0]
