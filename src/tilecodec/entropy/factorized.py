"""Non-parametric factorized density (Ballé et al., ICLR 2018, appendix 6.1).

Each channel has its own learned cumulative density ``c(x)`` built from a small
monotone network. Training uses additive uniform noise; the likelihood of a value is
``c(x + 0.5) - c(x - 0.5)``. The quantiles ``(tail/2, median, 1 - tail/2)`` are learned
by the auxiliary loss and fix each channel's table support at export.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .tables import CdfTables, quantize_pmf

LIKELIHOOD_BOUND = 1e-9


class FactorizedDensity(nn.Module):
    """Per-channel density over NCHW tensors with ``channels`` channels."""

    def __init__(self, channels: int, filters=(3, 3, 3), init_scale: float = 10.0, tail_mass: float = 1e-9):
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(dims) - 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(dims) - 1):
            init = float(np.log(np.expm1(1 / scale / dims[i + 1])))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        target = float(np.log(2 / tail_mass - 1))
        self.register_buffer("target", torch.tensor([-target, 0.0, target]))
        self.tables = CdfTables()

    def _logits_cumulative(self, x: torch.Tensor, stop_gradient: bool) -> torch.Tensor:
        """x: (channels, 1, n) -> logits of the cumulative density, same shape."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            if stop_gradient:
                matrix, bias = matrix.detach(), bias.detach()
            x = torch.matmul(F.softplus(matrix), x) + bias
            if i < len(self.factors):
                factor = self.factors[i].detach() if stop_gradient else self.factors[i]
                x = x + torch.tanh(factor) * torch.tanh(x)
        return x

    def aux_loss(self) -> torch.Tensor:
        """Pulls ``quantiles`` to the tail/median points of the learned density."""
        logits = self._logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target).sum()

    @property
    def medians(self) -> torch.Tensor:
        return self.quantiles[:, 0, 1].detach()

    def likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Probability mass of the unit interval around each element of NCHW ``x`` (float32)."""
        with torch.autocast("cpu", enabled=False), torch.autocast("cuda", enabled=False):
            x = x.float()
            n, c, h, w = x.shape
            v = x.permute(1, 0, 2, 3).reshape(c, 1, -1)
            lower = self._logits_cumulative(v - 0.5, stop_gradient=False)
            upper = self._logits_cumulative(v + 0.5, stop_gradient=False)
            sign = -torch.sign(lower + upper).detach()
            lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
            lik = lik.clamp_min(LIKELIHOOD_BOUND)
            return lik.reshape(c, n, h, w).permute(1, 0, 2, 3)

    def quantize(self, x: torch.Tensor, noise: bool) -> torch.Tensor:
        """Uniform noise for training; rounding around the medians otherwise."""
        if noise:
            return x + torch.empty_like(x).uniform_(-0.5, 0.5)
        med = self.medians.reshape(1, -1, 1, 1).to(x.dtype)
        return torch.round(x - med) + med

    @torch.no_grad()
    def update_tables(self) -> None:
        """Build the integer tables from the trained density (call once, at export)."""
        q = self.quantiles.detach().double()[:, 0, :]
        med = q[:, 1]
        lo = torch.ceil(med - q[:, 0]).clamp_min(0).long()
        hi = torch.ceil(q[:, 2] - med).clamp_min(0).long()
        rows, offsets = [], []
        for c in range(self.channels):
            values = torch.arange(-int(lo[c]), int(hi[c]) + 1, dtype=torch.float32)
            v = (values + med[c].float()).reshape(1, 1, -1).expand(self.channels, 1, -1)
            lower = self._logits_cumulative(v - 0.5, True)[c, 0].double()
            upper = self._logits_cumulative(v + 0.5, True)[c, 0].double()
            pmf = (torch.sigmoid(upper) - torch.sigmoid(lower)).clamp_min(0).numpy()
            tail = float(torch.sigmoid(lower[0]) + torch.sigmoid(-upper[-1]))
            rows.append(quantize_pmf(pmf, tail))
            offsets.append(-int(lo[c]))
        self.tables.set(rows, offsets)
