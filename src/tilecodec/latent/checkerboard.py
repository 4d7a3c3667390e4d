"""Conditional latent codec with a checkerboard context model (He et al., "Checkerboard
context model for efficient learned image compression", CVPR 2021).

The latent is split into anchors (``(i + j) % 2 == 0``) and non-anchors. Anchors are
coded from the hyperprior alone; non-anchors also see a masked convolution of the
decoded anchors. Two parallel passes, no per-element loops. Training runs the same two
passes (anchors rounded around their own means), so training and coding agree. When
coding, each pass computes its parameters only where it codes: the anchors' from the
hyperprior alone (the zero context drops out of the first layer), the non-anchors' context
only from the 12 anchor taps of the 5x5 mask, as matrix products over gathered positions.
Strings: ``[anchor_bytes, non_anchor_bytes]``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..numerics import entropy_map, entropy_scope
from .base import Coded, LatentOut, decode, encode
from .conditional import conditional
from .context import Taps, mlp_rows

CHUNK_POSITIONS = 192  # positions from which ``_coding_params`` splits the work in two


def anchor_mask(shape: tuple[int, int], device=None) -> torch.Tensor:
    """Bool (H, W): True at anchor positions."""
    i = torch.arange(shape[0], device=device)[:, None]
    j = torch.arange(shape[1], device=device)[None, :]
    return (i + j) % 2 == 0


def checkerboard_positions(shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat (row-major) indexes of the anchors, then of the non-anchors: the coding order."""
    anchors = anchor_mask(shape).flatten()
    return anchors.nonzero()[:, 0], (~anchors).nonzero()[:, 0]


def _in_scope(fn, x):
    with entropy_scope():
        return fn(x)


class CheckerboardCodec(nn.Module):
    """``params`` (the hyper-synthesis output) and ``context`` both have 2C channels;
    ``entropy_parameters`` maps their concatenation (4C) to scales then means (2C), or, with
    ``mixture`` = K, to the K components' logits, means and scales (3KC)."""

    num_strings = 2

    def __init__(self, context: nn.Module, entropy_parameters: nn.Module, levels: int | None = None,
                 mixture: int | None = None):
        super().__init__()
        self.context = context
        self.entropy_parameters = entropy_parameters
        self.gaussian, self.coding = conditional(levels, mixture)

    def latent_channels(self, params: torch.Tensor) -> int:
        return params.shape[1] // 2

    def _split(self, hyper: torch.Tensor, ctx: torch.Tensor):
        return self.coding.split(self.entropy_parameters(torch.cat([hyper, ctx], dim=1)))

    def forward(self, y, params, levels=None, quantize=None) -> LatentOut:
        """Training: the two passes, anchors rounded around their means (straight-through),
        or quantized by ``quantize`` (refinement, with the coding scale floors)."""
        anchors = anchor_mask(y.shape[2:], y.device)
        zero_context = params.new_zeros(params.shape[0], self.context.out_channels, *params.shape[2:])
        params_a = self._split(params, zero_context)
        center = self.coding.center(params_a)
        if quantize is None:
            y_anchor = y + (torch.round(y - center) + center - y).detach()
        else:
            y_anchor = quantize(y - center) + center
        params_n = self._split(params, self.context(y_anchor * anchors))
        both = tuple(torch.where(anchors, a, n) for a, n in zip(params_a, params_n))
        if quantize is not None:  # the anchors as quantized for the context, not a second draw
            center = self.coding.center(both)
            y_hat = torch.where(anchors, y_anchor, quantize(y - center) + center)
            return self.coding.quantized(self.gaussian, y_hat, both, levels)
        return self.coding.forward(self.gaussian, y, both, levels, None, self.training)

    def _coding_params(self, hyper: torch.Tensor, positions: torch.Tensor, y_hat: torch.Tensor | None, path):
        """The pass's parameters (scales and means, each (1, C, 1, n), for Gaussians), at the
        flat ``positions`` only, on ``path``:
        from the hyperprior alone (anchors), or also from the context of the decoded anchors
        ``y_hat`` (non-anchors). A path with exact sums runs on all of the caller's threads;
        on another, large latents run in two halves of the positions side by side, one thread
        each; the split depends only on the shape."""
        if not len(positions):  # a 1x1 latent has no non-anchors
            out = self.entropy_parameters[-1].out_channels
            return self.coding.split(hyper.new_zeros(1, out, 1, 0, dtype=torch.float64))
        flat_hyper = hyper[0].flatten(1)
        mlp = path.layers(self.entropy_parameters)
        if y_hat is not None:  # the context's input, once for both halves
            conv = path.layers(self.context)
            taps = Taps(conv, y_hat.shape[3])
            p = taps.padding
            padded = F.pad(path.clamp(path.input(y_hat), conv)[0], (p, p, p, p)).flatten(1)

        def params(chunk):
            rows = flat_hyper[:, chunk].T
            if y_hat is None:  # the zero context drops out of the first layer
                return mlp_rows(mlp, rows, path, used=rows.shape[1])
            return mlp_rows(mlp, torch.cat([rows, taps.rows(padded, taps.base(chunk, y_hat.shape[3]), path)], dim=1),
                            path)

        if path.exact_sums:  # one job on every thread the caller has: the sums' order cannot matter
            with entropy_scope(torch.get_num_threads()):
                rows = params(positions)
        else:
            chunks = [positions] if len(positions) < CHUNK_POSITIONS else list(positions.chunk(2))
            rows = torch.cat(entropy_map(lambda chunk: _in_scope(params, chunk), chunks))
        return self.coding.split(rows.T.reshape(1, rows.shape[1], 1, rows.shape[0]))

    def passes(self, params, shape, y_hat, rate, path):
        """The anchors, then the non-anchors, whose context is read from ``y_hat``."""
        for positions, context in zip(checkerboard_positions(shape), (False, True)):
            anchors = y_hat.view(1, len(y_hat), *shape) if context else None
            yield (positions, *self._coding_params(params, positions, anchors, path))

    def compress(self, y, params, rate, path) -> Coded:
        return encode(self, y, params, rate, path)

    def decompress(self, strings, params, shape, rate, path) -> torch.Tensor:
        return decode(self, strings, params, shape, rate, path)
