"""Conditional latent codec: a Gaussian conditional whose scales (and, for mean-scale, means)
come from a hyperprior, all elements coded in one pass (Ballé et al., 2018; Minnen et al.,
2018). ``round((y - means) / step)`` is coded with the table of ``scales / step``."""

import torch
from torch import nn

from ..entropy import GaussianConditional
from ..entropy.paths import floor_scales
from .base import Coded, LatentOut, decode, encode
from .conditional import GAUSSIAN, gaussian_forward


class GaussianConditionalCodec(nn.Module):
    """``params``: C channels of scales, or (``mean_scale``) 2C: scales then means.
    ``levels``: how many rate levels have their own scale floor."""

    num_strings = 1
    coding = GAUSSIAN

    def __init__(self, mean_scale: bool, levels: int | None = None):
        super().__init__()
        self.mean_scale = mean_scale
        self.gaussian = GaussianConditional(levels)

    def split(self, params: torch.Tensor):
        """(scales, means or None) from the hyperprior's ``params``."""
        if self.mean_scale:
            scales, means = params.chunk(2, dim=1)
            return scales, means
        return params, None

    def latent_channels(self, params: torch.Tensor) -> int:
        return params.shape[1] // 2 if self.mean_scale else params.shape[1]

    def forward(self, y, params, levels=None, quantize=None) -> LatentOut:
        """Training (see ``gaussian_forward``); with ``quantize`` (refinement) the likelihoods
        use the coding scale floors."""
        scales, means = self.split(params)
        if quantize is not None:
            scales = floor_scales(scales, self.gaussian.scale_floors, levels)
        return gaussian_forward(self.gaussian, y, scales, means, self.training, quantize)

    def passes(self, params, shape, y_hat, rate, path):
        """One pass: every position."""
        scales, means = self.split(params)
        n = shape[0] * shape[1]
        flat = [None if v is None else v.reshape(1, v.shape[1], 1, n) for v in (scales, means)]
        yield torch.arange(n), flat[0], flat[1]

    def compress(self, y, params, rate, path) -> Coded:
        return encode(self, y, params, rate, path)

    def decompress(self, strings, params, shape, rate, path) -> torch.Tensor:
        return decode(self, strings, params, shape, rate, path)
