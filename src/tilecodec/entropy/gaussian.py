"""Gaussian conditional with a fixed log-spaced scale table (Ballé et al., ICLR 2018).

A latent element with predicted mean ``mu`` and scale ``sigma`` is coded as the integer
``round((y - mu) / step)`` with the table row of the tabulated scale nearest (in log)
to ``sigma / step``. The decoder returns ``symbol * step + mu``. ``step`` is the
quantization step (1 in training); larger steps give lower rates (Theis et al., 2017).
"""

import math

import numpy as np
import torch
from torch import nn

from .tables import CdfTables, quantize_pmf

SCALE_MIN, SCALE_MAX, SCALE_LEVELS = 0.11, 256.0, 64
LIKELIHOOD_BOUND = 1e-9


def scale_table() -> torch.Tensor:
    """The 64 log-spaced scales from 0.11 to 256 (float32, fixed by the format)."""
    return torch.exp(torch.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS)).float()


def _std_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2 ** -0.5))


class GaussianConditional(nn.Module):
    """Likelihoods for training, integer tables for coding, and the coding scale floors: one
    per rate level (``levels``), in units of the quantization step, 0.11 (the table minimum)
    unless calibrated at export (``train.calibrate``). Trained with additive noise, a
    hyperprior predicts scales far below 0.11 where rounding still yields +-1 now and then;
    a calibrated floor codes those symbols more cheaply. It changes only probabilities,
    never the symbols. Table indexes are computed by an entropy path (``entropy.paths``)."""

    def __init__(self, levels: int | None = None, tail_mass: float = 1e-9):
        super().__init__()
        self.tail_mass = tail_mass
        self.register_buffer("scale_table", scale_table())
        self.register_buffer("scale_floors", torch.full((levels or 1,), SCALE_MIN))
        self.tables = CdfTables()

    def likelihood(self, y_hat: torch.Tensor, scales: torch.Tensor, means: torch.Tensor | None) -> torch.Tensor:
        """Mass of the unit interval around ``y_hat`` under N(means, scales), in float32."""
        with torch.autocast("cpu", enabled=False), torch.autocast("cuda", enabled=False):
            v = y_hat.float() - (means.float() if means is not None else 0.0)
            s = scales.float().clamp_min(SCALE_MIN)
            v = torch.abs(v)
            lik = _std_cdf((0.5 - v) / s) - _std_cdf((-0.5 - v) / s)
            return lik.clamp_min(LIKELIHOOD_BOUND)

    @torch.no_grad()
    def update_tables(self) -> None:
        """Build one integer table per tabulated scale (call once, at export)."""
        multiplier = -float(torch.special.ndtri(torch.tensor(self.tail_mass / 2, dtype=torch.float64)))
        rows, offsets = [], []
        for s in self.scale_table.double().tolist():
            r = int(math.ceil(s * multiplier))
            values = torch.arange(-r, r + 1, dtype=torch.float64)
            pmf = (_std_cdf((values + 0.5) / s) - _std_cdf((values - 0.5) / s)).numpy()
            tail = float(2 * _std_cdf(torch.tensor((-r - 0.5) / s, dtype=torch.float64)))
            rows.append(quantize_pmf(np.clip(pmf, 0, None), tail))
            offsets.append(-r)
        self.tables.set(rows, offsets)
