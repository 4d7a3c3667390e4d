"""Conditional latent codec with a channel-wise autoregressive context (ChARM: Minnen and
Singh, "Channel-wise autoregressive entropy models for learned image compression", ICIP 2020).

The latent's C channels are split into ``slices`` equal slices coded one after another.
Slice i's scales and means come from a small network (``slice_parameters[i]``: a 1x1 and two
3x3 convolutions) of the hyperprior's parameters and the decoded slices before it, so each
slice is one parallel pass over all positions. After a slice is decoded, latent residual
prediction (``residual_prediction[i]``, of the hyperprior's means and the decoded slices up
to and including i) adds ``0.5 * softsign`` of its output to the slice: a correction of the
quantization error of at most half a step. The paper bounds it with ``tanh``; ``softsign``
(``x / (1 + |x|)``) bounds it alike with one division, which IEEE 754 rounds identically on
every machine, so the corrected values that feed later slices are exact on the exact entropy
path as everything else there is.

All slices go in one string (``entropy.coder.StreamEncoder``): ``[y_bytes]``.
"""

import torch
from torch import nn

from ..entropy import GaussianConditional
from ..entropy.paths import floor_scales
from ..numerics import entropy_scope
from .base import Coded, LatentOut, decode, encode
from .conditional import GAUSSIAN, gaussian_forward


def _network(in_ch: int, width: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, width, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(width, width * 3 // 4, 3, padding=1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(width * 3 // 4, out_ch, 3, padding=1))


def residual_correction(x: torch.Tensor) -> torch.Tensor:
    """Latent residual prediction's bounded output: ``0.5 * x / (1 + |x|)``, in (-0.5, 0.5)."""
    return 0.5 * x / (1 + x.abs())


class ChannelContextCodec(nn.Module):
    """``params`` (the hyper-synthesis output): 2C channels, scales then means. ``width``: of
    each slice's parameter network (its residual predictor is half as wide)."""

    num_strings = 1
    streamed = True  # every slice codes into the same string
    coding = GAUSSIAN

    def __init__(self, channels: int, slices: int = 6, width: int = 128, levels: int | None = None):
        super().__init__()
        if channels % slices:
            raise ValueError(f"{channels} latent channels do not split into {slices} equal slices")
        self.slices, self.slice_channels = slices, channels // slices
        s = self.slice_channels
        self.slice_parameters = nn.ModuleList(_network(2 * channels + i * s, width, 2 * s) for i in range(slices))
        self.residual_prediction = nn.ModuleList(_network(channels + (i + 1) * s, width // 2, s)
                                                 for i in range(slices))
        self.gaussian = GaussianConditional(levels)

    def latent_channels(self, params: torch.Tensor) -> int:
        return params.shape[1] // 2

    def forward(self, y, params, levels=None, quantize=None) -> LatentOut:
        """Training: slice by slice, each rounded around its means (straight-through) or
        quantized by ``quantize`` (refinement) and corrected by residual prediction before
        the next slice sees it; the likelihoods of ``gaussian_forward``."""
        hyper_means = params.chunk(2, dim=1)[1]
        decoded, coded, scales, means = [], [], [], []
        for i, y_slice in enumerate(y.split(self.slice_channels, dim=1)):
            sc, mu = self.slice_parameters[i](torch.cat([params, *decoded], dim=1)).chunk(2, dim=1)
            if quantize is None:
                q = y_slice + (torch.round(y_slice - mu) + mu - y_slice).detach()
            else:
                q = quantize(y_slice - mu) + mu
            correction = residual_correction(self.residual_prediction[i](torch.cat([hyper_means, *decoded, q], dim=1)))
            decoded.append(q + correction)
            coded.append(q)
            scales.append(sc)
            means.append(mu)
        scales, means, y_hat = torch.cat(scales, dim=1), torch.cat(means, dim=1), torch.cat(decoded, dim=1)
        if quantize is not None:  # the likelihood of the coded symbols, before the correction
            floored = floor_scales(scales, self.gaussian.scale_floors, levels)
            return LatentOut(y_hat, {"y": self.gaussian.likelihood(torch.cat(coded, dim=1), floored, means)}, {})
        out = gaussian_forward(self.gaussian, y, scales, means, self.training)
        return LatentOut(y_hat, out.likelihoods, out.extras)

    def passes(self, params, shape, y_hat, rate, path):
        """The slices in order, each over every position; after the caller has written a
        slice's decoded values into ``y_hat``, its residual correction is added there."""
        channels, n, s = len(y_hat), shape[0] * shape[1], self.slice_channels
        hyper_means = params[:, channels:]
        with entropy_scope():  # once for all passes
            for i in range(self.slices):
                a, b = i * s, (i + 1) * s
                support = torch.cat([params, y_hat[:a].view(1, a, *shape)], dim=1)
                out = path.run(path.layers(self.slice_parameters[i]), path.input(support))
                scales, means = out.reshape(1, 2 * s, 1, n).chunk(2, dim=1)
                yield (slice(a, b), slice(None)), scales, means
                support = torch.cat([hyper_means, y_hat[:b].view(1, b, *shape)], dim=1)
                out = path.run(path.layers(self.residual_prediction[i]), path.input(support))
                y_hat[a:b] += path.output(residual_correction(out) * rate.step).view(s, n)

    def compress(self, y, params, rate, path) -> Coded:
        return encode(self, y, params, rate, path)

    def decompress(self, strings, params, shape, rate, path) -> torch.Tensor:
        return decode(self, strings, params, shape, rate, path)
