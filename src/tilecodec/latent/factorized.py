"""Latent codec: each channel coded with its own factorized density (Ballé et al., 2017)."""

import numpy as np
import torch
from torch import nn

from ..entropy import FactorizedDensity, coder
from ..errors import ParameterError
from .base import Coded, LatentOut


class FactorizedLatentCodec(nn.Module):
    """Codes an NCHW latent of ``channels`` channels with no side information, at a fixed
    rate: no network chooses its tables, so the entropy path changes nothing.

    ``levels``: one more density per trained rate level of a gain-unit model, each fitted to
    its level's latents (``level_densities``); a rate between two levels codes with the nearest
    one's. One density shared by every level fits none of them: with gains that shrink the
    latent at low rates, most values are zero there and a shared density pays for the
    spread of the high levels."""

    num_strings = 1
    variable_rate = False

    def __init__(self, channels: int, levels: int | None = None):
        super().__init__()
        self.density = FactorizedDensity(channels)
        self.level_densities = nn.ModuleList(FactorizedDensity(channels) for _ in range(levels)) if levels else None

    def density_at(self, rate=None) -> FactorizedDensity:
        """The density that codes at ``rate`` (a ``rate.RatePoint``; None: the shared one)."""
        if self.level_densities is None or rate is None or rate.level is None:
            return self.density
        return self.level_densities[min(max(round(float(rate.level)), 0), len(self.level_densities) - 1)]

    def likelihood(self, y_hat: torch.Tensor, levels: torch.Tensor | None = None) -> torch.Tensor:
        """Each element's likelihood under the density of its image's level (``levels``: one
        per image, rounded to the nearest trained level) or the shared one."""
        if self.level_densities is None or levels is None:
            return self.density.likelihood(y_hat)
        index = levels.round().long().clamp(0, len(self.level_densities) - 1)
        out = torch.empty_like(y_hat, dtype=torch.float32)
        for k in index.unique().tolist():
            mask = index == k
            out[mask] = self.level_densities[k].likelihood(y_hat[mask])
        return out

    def forward(self, y: torch.Tensor, levels=None, quantize=None) -> LatentOut:
        """Training: (y_hat with straight-through rounding, {"y": likelihoods}, {}).
        ``quantize`` (a function of ``y - medians``, see ``refine``) gives y_hat and the value
        whose likelihood counts."""
        if quantize is not None:
            med = self.density.medians.reshape(1, -1, 1, 1)
            y_hat = quantize(y - med) + med
            return LatentOut(y_hat, {"y": self.likelihood(y_hat, levels)}, {})
        lik = self.likelihood(self.density.quantize(y, noise=self.training), levels)
        y_round = self.density.quantize(y, noise=False)
        return LatentOut(y + (y_round - y).detach(), {"y": lik}, {})

    def _indexes(self, shape) -> np.ndarray:
        return np.broadcast_to(np.arange(shape[1]).reshape(1, -1, 1, 1), shape)

    @staticmethod
    def _check(rate) -> None:
        if rate is not None and rate.step != 1.0:
            raise ParameterError("a factorized latent has a fixed rate; it cannot use another quantization step")

    def compress(self, y: torch.Tensor, rate=None, path=None, precision: str = "reference") -> Coded:
        """([bytes], y_hat exactly as the decoder will see it)."""
        self._check(rate)
        density = self.density_at(rate)
        med = density.medians.reshape(1, -1, 1, 1)
        symbols = torch.round(y.float() - med)
        data = coder.encode(symbols.numpy(), self._indexes(y.shape), density.tables)
        return Coded([data], symbols + med)

    def decompress(self, strings: list[bytes], shape: tuple[int, int], rate=None, path=None) -> torch.Tensor:
        """Inverse of ``compress`` for a latent of spatial ``shape`` (batch of one)."""
        self._check(rate)
        density = self.density_at(rate)
        full = (1, density.channels, *shape)
        symbols = coder.decode(strings[0], self._indexes(full), density.tables)
        return torch.from_numpy(symbols.astype(np.float32)) + density.medians.reshape(1, -1, 1, 1)
