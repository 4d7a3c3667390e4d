"""Hyperprior latent codec with a checkerboard context model (He et al., "Checkerboard
context model for efficient learned image compression", CVPR 2021).

The latent is split into anchors (``(i + j) % 2 == 0``) and non-anchors. Anchors are
coded from the hyperprior alone; non-anchors also see a masked convolution of the
decoded anchors. Two parallel passes, no per-element loops. Training runs the same two
passes (anchors rounded around their own means), so training and coding agree. At
inference each pass computes its parameters only where it codes: the anchors' from the
hyperprior alone (the zero context drops out of the first layer), the non-anchors' context
only from the 12 anchor taps of the 5x5 mask, as matrix products over gathered positions.
Strings: ``[z_bytes, anchor_bytes, non_anchor_bytes]``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .. import fixed_point
from ..entropy import coder
from ..numerics import entropy_copy, entropy_map, entropy_path
from .hyperprior import HyperpriorLatentCodec


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


def _on_entropy_path(fn, x):
    with entropy_path():
        return fn(x)


class CheckerboardLatentCodec(HyperpriorLatentCodec):
    """``hyper_synthesis`` and ``context`` both give 2C channels; ``entropy_parameters``
    maps their concatenation (4C) to scales then means (2C)."""

    num_strings = 3

    def __init__(self, hyper_analysis: nn.Module, hyper_synthesis: nn.Module, context: nn.Module,
                 entropy_parameters: nn.Module, z_channels: int, levels: int | None = None):
        super().__init__(hyper_analysis, hyper_synthesis, z_channels, mean_scale=True, levels=levels)
        self.context = context
        self.entropy_parameters = entropy_parameters

    def _split(self, hyper: torch.Tensor, ctx: torch.Tensor):
        scales, means = self.entropy_parameters(torch.cat([hyper, ctx], dim=1)).chunk(2, dim=1)
        return scales, means

    def _anchor_params(self, hyper: torch.Tensor):
        c = self.context.out_channels
        return self._split(hyper, hyper.new_zeros(hyper.shape[0], c, *hyper.shape[2:]))

    def _mlp(self, rows: torch.Tensor, hyper_only: bool, exact: bool) -> torch.Tensor:
        """``entropy_parameters`` on (n, features) rows (its 1x1 convs as matrix products), in
        float64 (entropy path; ``exact``: fixed-point). ``hyper_only``: rows hold only the
        hyper features; the context half is zero, so the first layer uses only the hyper half
        of its weights."""
        for i, layer in enumerate(entropy_copy(self.entropy_parameters, exact)):
            if isinstance(layer, nn.Conv2d):
                w = layer.weight.flatten(1)
                rows = fixed_point.clamp(rows, layer) if exact else rows
                rows = F.linear(rows, w[:, : rows.shape[1]] if i == 0 and hyper_only else w, layer.bias)
            else:
                rows = layer(rows)
            rows = fixed_point.on_grid(rows) if exact else rows
        return rows

    def _context_rows(self, y_hat: torch.Tensor, positions: torch.Tensor, exact: bool) -> torch.Tensor:
        """``context(y_hat)`` at the flat ``positions`` only, as (n, 2C) rows: each row is one
        matrix product over the taps the checkerboard mask keeps (12 of 25 for 5x5), in float64
        (``exact``: fixed-point, with ``y_hat`` already on the grid and within the bound)."""
        conv = entropy_copy(self.context, exact)
        k, p = conv.kernel_size[0], conv.padding[0]
        c, w = y_hat.shape[1], y_hat.shape[3]
        padded = F.pad(y_hat[0], (p, p, p, p)).flatten(1)  # (C, (H + 2p) * (W + 2p))
        taps = conv.mask[0, 0].nonzero()  # (T, 2): the kept (row, column) offsets
        offsets = taps[:, 0] * (w + 2 * p) + taps[:, 1]
        base = positions // w * (w + 2 * p) + positions % w
        features = padded[:, base[:, None] + offsets[None, :]]  # (C, n, T)
        weight = conv.weight[:, :, taps[:, 0], taps[:, 1]]  # (2C, C, T)
        rows = F.linear(features.permute(1, 0, 2).reshape(len(positions), c * len(taps)),
                        weight.reshape(weight.shape[0], -1), conv.bias)
        return fixed_point.on_grid(rows) if exact else rows

    def _coding_params(self, hyper: torch.Tensor, positions: torch.Tensor, y_hat: torch.Tensor | None = None,
                       exact: bool = False):
        """Scales and means, each (1, C, 1, n), at the flat ``positions`` only, on the entropy
        path: from the hyperprior alone (anchors), or also from the context of the decoded
        anchors ``y_hat`` (non-anchors). Large latents run in two halves of the positions side
        by side (the entropy path is one thread per job); the split depends only on the shape.
        ``exact``: in fixed-point arithmetic (``hyper`` must come from the exact path too)."""
        flat_hyper = hyper[0].flatten(1)
        if y_hat is not None and exact:  # the context's input, once for both halves
            y_hat = fixed_point.clamp(fixed_point.on_grid(y_hat), entropy_copy(self.context, True))

        def params(chunk):
            rows = flat_hyper[:, chunk].T
            if y_hat is None:
                return self._mlp(rows, True, exact)
            return self._mlp(torch.cat([rows, self._context_rows(y_hat, chunk, exact)], dim=1), False, exact)

        chunks = [positions] if len(positions) < CHUNK_POSITIONS else list(positions.chunk(2))
        rows = torch.cat(entropy_map(lambda chunk: _on_entropy_path(params, chunk), chunks))
        return rows.T.reshape(1, rows.shape[1], 1, rows.shape[0]).chunk(2, dim=1)

    def _passes(self, hyper: torch.Tensor, shape: tuple[int, int], y_hat: torch.Tensor, exact: bool):
        """The two coding passes: (positions, scales, means) for the anchors, then for the
        non-anchors, whose context is read from ``y_hat`` ((C, H * W), filled by the caller
        at the anchor positions before it asks for the next pass)."""
        for positions, context in zip(checkerboard_positions(shape), (False, True)):
            anchors = y_hat.view(1, len(y_hat), *shape) if context else None
            yield (positions, *self._coding_params(hyper, positions, anchors, exact))

    def forward(self, y: torch.Tensor, s: torch.Tensor | None = None, quantize=None):
        """Training: the two passes, anchors rounded around their means (straight-through),
        or quantized by ``quantize`` (refinement, with the coding scale floors)."""
        z_hat, z_lik = self._train_z(y, s, quantize)
        anchors = anchor_mask(y.shape[2:], y.device)
        with torch.autocast(y.device.type, enabled=False):
            y32 = y.float()
            hyper = self._hyper(z_hat, s)
            scales_a, means_a = self._anchor_params(hyper)
            if quantize is None:
                y_anchor = y32 + (torch.round(y32 - means_a) + means_a - y32).detach()
            else:
                y_anchor = quantize(y32 - means_a) + means_a
            ctx = self.context(y_anchor * anchors)
            scales_n, means_n = self._split(hyper, ctx)
            scales = torch.where(anchors, scales_a, scales_n)
            means = torch.where(anchors, means_a, means_n)
            if quantize is not None:  # the anchors as quantized for the context, not a second draw
                y_hat = torch.where(anchors, y_anchor, quantize(y32 - means) + means)
                y_lik = self.y.gaussian.likelihood(y_hat, self.floored(scales, s), means)
                return y_hat, {"y": y_lik, "z": z_lik}, {}
        y_hat, y_lik, extras = self.y(y32, scales, means)
        return y_hat, {**y_lik, "z": z_lik}, extras

    @torch.no_grad()
    def compress(self, y: torch.Tensor, step: float = 1.0, fast: bool = False,
                 s: torch.Tensor | None = None, exact: bool = True) -> tuple[list[bytes], torch.Tensor]:
        z_strings, z_hat = self._code_z(y, s, fast)
        hyper = self._hyper(z_hat, s, coding=True, exact=exact)
        flat = y.float()[0].flatten(1)  # (C, H * W)
        y_hat = hyper.new_zeros(flat.shape)  # float64, as in decompress
        strings = []
        for positions, scales, means in self._passes(hyper, y.shape[2:], y_hat, exact):
            with entropy_path():
                indexes = self.y.gaussian.indexes(self.floored(scales, s, step, exact), step, exact)
            sym = torch.round((flat[:, positions].view_as(means) - means) / step)
            strings.append(coder.encode(sym.reshape(-1).numpy(), indexes.reshape(-1).numpy(), self.y.gaussian.tables))
            y_hat[:, positions] = (sym * step + means).view(len(flat), -1)
        return z_strings + strings, y_hat.view_as(y)

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], step: float = 1.0,
                   s: torch.Tensor | None = None, exact: bool = True) -> torch.Tensor:
        zs = (shape[0] // self.downsampling, shape[1] // self.downsampling)
        z_hat = self.z.decompress(strings[:1], zs)
        hyper = self._hyper(z_hat, s, coding=True, exact=exact)
        channels = hyper.shape[1] // 2
        y_hat = hyper.new_zeros(channels, shape[0] * shape[1])
        for data, (positions, scales, means) in zip(strings[1:], self._passes(hyper, shape, y_hat, exact)):
            with entropy_path():
                indexes = self.y.gaussian.indexes(self.floored(scales, s, step, exact), step, exact)
            sym = torch.from_numpy(coder.decode(data, indexes.reshape(-1).numpy(), self.y.gaussian.tables))
            y_hat[:, positions] = (sym.to(means.dtype).view_as(means) * step + means).view(channels, -1)
        return y_hat.view(1, channels, *shape)

    @torch.no_grad()
    def coding_params(self, y: torch.Tensor, step: float = 1.0, s: torch.Tensor | None = None):
        """(z_hat, scales before the floor, means) exactly as ``compress`` derives them for ``y``:
        anchors from the hyperprior, non-anchors also from the decoded anchors."""
        z_hat = self._rounded_z(y, s)
        hyper = self._hyper(z_hat, s, coding=True, exact=True)
        flat = y.float()[0].flatten(1)
        y_hat, scales_map, means_map = (hyper.new_zeros(flat.shape) for _ in range(3))
        for positions, scales, means in self._passes(hyper, y.shape[2:], y_hat, True):
            sym = torch.round((flat[:, positions].view_as(means) - means) / step)
            y_hat[:, positions] = (sym * step + means).view(len(flat), -1)
            scales_map[:, positions] = scales.view(len(flat), -1)
            means_map[:, positions] = means.view(len(flat), -1)
        return z_hat, scales_map.view_as(y), means_map.view_as(y)
