"""Latent codec with a hyperprior (Ballé et al., 2018; Minnen et al., 2018).

A hyper-latent ``z = hyper_analysis(y)`` is coded with a factorized density; the
hyper-synthesis of its reconstruction predicts the scales (and, for mean-scale, the
means) of a Gaussian conditional for ``y``. Strings: ``[z_bytes, y_bytes]``.
"""

import torch
from torch import nn

from ..numerics import entropy_path, fast_transform
from .factorized import FactorizedLatentCodec
from .gaussian import GaussianLatentCodec


class HyperpriorLatentCodec(nn.Module):
    """``mean_scale=True``: hyper_synthesis outputs 2C channels, scales then means."""

    num_strings = 2
    variable_rate = True

    def __init__(self, hyper_analysis: nn.Module, hyper_synthesis: nn.Module, z_channels: int,
                 mean_scale: bool, downsampling: int = 4):
        super().__init__()
        self.hyper_analysis = hyper_analysis
        self.hyper_synthesis = hyper_synthesis
        self.z = FactorizedLatentCodec(z_channels)
        self.y = GaussianLatentCodec()
        self.mean_scale = mean_scale
        self.downsampling = downsampling

    def _params(self, z_hat: torch.Tensor):
        out = self.hyper_synthesis(z_hat.float())
        if self.mean_scale:
            scales, means = out.chunk(2, dim=1)
            return scales, means
        return out, None

    def forward(self, y: torch.Tensor):
        z = self.hyper_analysis(y)
        z_hat, z_lik = self.z(z)
        with torch.autocast("cpu", enabled=False):
            scales, means = self._params(z_hat)
        y_hat, y_lik = self.y(y, scales, means)
        return y_hat, {**y_lik, "z": z_lik["y"]}

    @torch.no_grad()
    def compress(self, y: torch.Tensor, step: float = 1.0, fast: bool = False) -> tuple[list[bytes], torch.Tensor]:
        """``fast``: allow bf16 for the hyper-analysis (encoder only; z is coded exactly)."""
        z = fast_transform(self.hyper_analysis, y, fast).contiguous()
        z_strings, z_hat = self.z.compress(z)
        with entropy_path():
            scales, means = self._params(z_hat)
        y_strings, y_hat = self.y.compress(y, scales, means, step)
        return z_strings + y_strings, y_hat

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], step: float = 1.0) -> torch.Tensor:
        """``shape``: spatial size of y; the hyper-latent is ``downsampling`` times smaller."""
        zs = (shape[0] // self.downsampling, shape[1] // self.downsampling)
        z_hat = self.z.decompress(strings[:1], zs)
        with entropy_path():
            scales, means = self._params(z_hat)
        return self.y.decompress(strings[1:], scales, means, step)
