"""Latent codec: each channel coded with its own factorized density (Ballé et al., 2017)."""

import numpy as np
import torch
from torch import nn

from ..entropy import FactorizedDensity, coder
from ..errors import ParameterError
from .base import Coded, LatentOut


class FactorizedLatentCodec(nn.Module):
    """Codes an NCHW latent of ``channels`` channels with no side information, at a fixed
    rate: no network chooses its tables, so the entropy path changes nothing."""

    num_strings = 1
    variable_rate = False

    def __init__(self, channels: int):
        super().__init__()
        self.density = FactorizedDensity(channels)

    def forward(self, y: torch.Tensor, levels=None, quantize=None) -> LatentOut:
        """Training: (y_hat with straight-through rounding, {"y": likelihoods}, {}).
        ``quantize`` (a function of ``y - medians``, see ``refine``) gives y_hat and the value
        whose likelihood counts."""
        if quantize is not None:
            med = self.density.medians.reshape(1, -1, 1, 1)
            y_hat = quantize(y - med) + med
            return LatentOut(y_hat, {"y": self.density.likelihood(y_hat)}, {})
        lik = self.density.likelihood(self.density.quantize(y, noise=self.training))
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
        med = self.density.medians.reshape(1, -1, 1, 1)
        symbols = torch.round(y.float() - med)
        data = coder.encode(symbols.numpy(), self._indexes(y.shape), self.density.tables)
        return Coded([data], symbols + med)

    def decompress(self, strings: list[bytes], shape: tuple[int, int], rate=None, path=None) -> torch.Tensor:
        """Inverse of ``compress`` for a latent of spatial ``shape`` (batch of one)."""
        self._check(rate)
        full = (1, self.density.channels, *shape)
        symbols = coder.decode(strings[0], self._indexes(full), self.density.tables)
        return torch.from_numpy(symbols.astype(np.float32)) + self.density.medians.reshape(1, -1, 1, 1)
