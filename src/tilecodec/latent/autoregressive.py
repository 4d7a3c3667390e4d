"""Conditional latent codec with a serial autoregressive context (Minnen, Ballé and Toderici,
"Joint autoregressive and hierarchical priors for learned image compression", NeurIPS 2018).

A 5x5 raster-causal masked convolution (``layers.MaskedConv``) of the decoded latent, and the
hyperprior's parameters, feed an entropy-parameter network (1x1 convolutions) that gives each
position's scales and means. Each position depends on the decoded positions before it in
raster order, so coding is sequential; but the mask reaches at most two columns to the right
in the rows above, so all positions on one wavefront ``t = 3 * row + column`` are independent
of each other and are coded together: 3 * (H - 1) + W steps instead of H * W, with the same
model and the same numbers (a 768x512 image, a 32x48 latent, codes in 141 steps).

Each step computes the context and parameters only at its positions (the 12 kept taps
gathered from a padded buffer of decoded values, and matrix products) on the entropy path,
and codes all channels of its positions at once. All steps go in one string
(``entropy.coder.StreamEncoder``): ``[y_bytes]``.

Training runs the masked convolution on the whole map of ``y`` plus uniform noise (the
decoder's context is the decoded latent, within half a step of ``y``); outside training, on
``round(y)``.
"""

import torch
from torch import nn

from ..entropy.paths import DTYPE
from ..numerics import entropy_scope
from .base import Coded, LatentOut, decode, encode
from .conditional import conditional
from .context import Taps, mlp_rows


def wavefronts(shape: tuple[int, int]) -> list[torch.Tensor]:
    """Flat (row-major) positions of each wavefront ``3 * row + column``, in coding order;
    within one, by row."""
    h, w = shape
    rows = torch.arange(h)[:, None].expand(h, w)
    t = (3 * rows + torch.arange(w)[None, :]).flatten()
    order = torch.argsort(t * h + rows.flatten())  # by wavefront, then by row
    counts = torch.bincount(t, minlength=3 * (h - 1) + w if h and w else 0)
    return list(order.split(counts.tolist()))


class AutoregressiveCodec(nn.Module):
    """``params`` (the hyper-synthesis output) and ``context`` both have 2C channels;
    ``entropy_parameters`` maps their concatenation (4C) to scales then means (2C), or, with
    ``mixture`` = K, to the K components' logits, means and scales (3KC)."""

    num_strings = 1
    streamed = True  # every pass codes into the same string

    def __init__(self, context: nn.Module, entropy_parameters: nn.Module, levels: int | None = None,
                 mixture: int | None = None):
        super().__init__()
        self.context = context
        self.entropy_parameters = entropy_parameters
        self.gaussian, self.coding = conditional(levels, mixture)

    def latent_channels(self, params: torch.Tensor) -> int:
        return params.shape[1] // 2

    def forward(self, y, params, levels=None, quantize=None) -> LatentOut:
        """Training: the context of ``y`` plus noise (or, with ``quantize``, of ``quantize(y)``),
        then the conditional's training forward (``latent.conditional``)."""
        if quantize is not None:
            seen = quantize(y)
        elif self.training:
            seen = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        else:
            seen = torch.round(y)
        coded = self.coding.split(self.entropy_parameters(torch.cat([params, self.context(seen)], dim=1)))
        if quantize is not None:
            center = self.coding.center(coded)
            return self.coding.quantized(self.gaussian, quantize(y - center) + center, coded, levels)
        return self.coding.forward(self.gaussian, y, coded, levels, None, self.training)

    def passes(self, params, shape, y_hat, rate, path):
        """The wavefronts in order; each reads the context from the values the caller wrote
        into ``y_hat`` (C x H*W) for the earlier ones."""
        conv, mlp = path.layers(self.context), path.layers(self.entropy_parameters)
        h, w = shape
        taps = Taps(conv, w)
        p = taps.padding
        padded = torch.zeros(len(y_hat), (h + p) * taps.stride, dtype=DTYPE)  # no rows below: the mask is causal
        hyper = params[0].flatten(1)
        with entropy_scope():  # once for all passes: one per pass would cost more than a small pass
            for positions in wavefronts(shape):
                base = taps.base(positions, w)
                rows = mlp_rows(mlp, torch.cat([hyper[:, positions].T, taps.rows(padded, base, path)], dim=1), path)
                yield positions, *self.coding.split(rows.T.reshape(1, rows.shape[1], 1, len(positions)))
                padded[:, base + p * taps.stride + p] = path.clamp(path.input(y_hat[:, positions]), conv)

    def compress(self, y, params, rate, path) -> Coded:
        return encode(self, y, params, rate, path)

    def decompress(self, strings, params, shape, rate, path) -> torch.Tensor:
        return decode(self, strings, params, shape, rate, path)
