"""Hyperprior latent codec with a checkerboard context model (He et al., "Checkerboard
context model for efficient learned image compression", CVPR 2021).

The latent is split into anchors (``(i + j) % 2 == 0``) and non-anchors. Anchors are
coded from the hyperprior alone; non-anchors also see a masked convolution of the
decoded anchors. Two parallel passes, no per-element loops. Training runs the same two
passes (anchors rounded around their own means), so training and coding agree.
Strings: ``[z_bytes, anchor_bytes, non_anchor_bytes]``.
"""

import torch
from torch import nn

from ..entropy import coder
from ..numerics import entropy_path, row_bands
from .hyperprior import HyperpriorLatentCodec


def anchor_mask(shape: tuple[int, int], device=None) -> torch.Tensor:
    """Bool (H, W): True at anchor positions."""
    i = torch.arange(shape[0], device=device)[:, None]
    j = torch.arange(shape[1], device=device)[None, :]
    return (i + j) % 2 == 0


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

    def _coding_params(self, hyper: torch.Tensor, y_hat: torch.Tensor | None = None):
        """Scales and means at inference, on the entropy path: from the hyperprior alone
        (anchors), or also from the context of the decoded anchors ``y_hat`` (non-anchors).
        Large latents run in two row bands side by side (the entropy path is one thread per
        job); the context conv sees rows within 2, the entropy parameters only their own."""
        if y_hat is None:
            out = row_bands(lambda h: torch.cat(self._anchor_params(h), dim=1), hyper, 0, 1)
        else:
            split = hyper.shape[1]

            def params(x):
                return torch.cat(self._split(x[:, :split], self.context(x[:, split:])), dim=1)

            out = row_bands(params, torch.cat([hyper, y_hat], dim=1), self.context.padding[0], 1)
        return out.chunk(2, dim=1)

    def forward(self, y: torch.Tensor, s: torch.Tensor | None = None):
        z_hat, z_lik = self._train_z(y, s)
        anchors = anchor_mask(y.shape[2:], y.device)
        with torch.autocast(y.device.type, enabled=False):
            y32 = y.float()
            hyper = self._hyper(z_hat, s)
            scales_a, means_a = self._anchor_params(hyper)
            y_anchor = y32 + (torch.round(y32 - means_a) + means_a - y32).detach()
            ctx = self.context(y_anchor * anchors)
            scales_n, means_n = self._split(hyper, ctx)
            scales = torch.where(anchors, scales_a, scales_n)
            means = torch.where(anchors, means_a, means_n)
        y_hat, y_lik, extras = self.y(y32, scales, means)
        return y_hat, {**y_lik, "z": z_lik}, extras

    @torch.no_grad()
    def compress(self, y: torch.Tensor, step: float = 1.0, fast: bool = False,
                 s: torch.Tensor | None = None) -> tuple[list[bytes], torch.Tensor]:
        z_strings, z_hat = self._code_z(y, s, fast)
        y = y.float()
        anchors = anchor_mask(y.shape[2:]).expand_as(y)
        gaussian = self.y.gaussian
        hyper = self._hyper(z_hat, s)
        scales, means = self._coding_params(hyper)
        with entropy_path():
            scales = self.floored(scales, s, step)
        sym = torch.round((y - means) / step)
        a_bytes = coder.encode(sym[anchors].numpy(), gaussian.indexes(scales, step)[anchors].numpy(), gaussian.tables)
        y_hat = torch.where(anchors, sym * step + means, torch.zeros_like(y))
        scales, means = self._coding_params(hyper, y_hat)
        with entropy_path():
            scales = self.floored(scales, s, step)
        sym = torch.round((y - means) / step)
        n_bytes = coder.encode(sym[~anchors].numpy(), gaussian.indexes(scales, step)[~anchors].numpy(),
                               gaussian.tables)
        y_hat = torch.where(anchors, y_hat, sym * step + means)
        return z_strings + [a_bytes, n_bytes], y_hat

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], step: float = 1.0,
                   s: torch.Tensor | None = None) -> torch.Tensor:
        zs = (shape[0] // self.downsampling, shape[1] // self.downsampling)
        z_hat = self.z.decompress(strings[:1], zs)
        gaussian = self.y.gaussian
        hyper = self._hyper(z_hat, s)
        scales, means = self._coding_params(hyper)
        with entropy_path():
            scales = self.floored(scales, s, step)
        anchors = anchor_mask(shape).expand_as(means)
        y_hat = torch.zeros_like(means)
        sym = coder.decode(strings[1], gaussian.indexes(scales, step)[anchors].numpy(), gaussian.tables)
        y_hat[anchors] = torch.from_numpy(sym).float() * step + means[anchors]
        scales, means = self._coding_params(hyper, y_hat)
        with entropy_path():
            scales = self.floored(scales, s, step)
        sym = coder.decode(strings[2], gaussian.indexes(scales, step)[~anchors].numpy(), gaussian.tables)
        y_hat[~anchors] = torch.from_numpy(sym).float() * step + means[~anchors]
        return y_hat

    @torch.no_grad()
    def coding_params(self, y: torch.Tensor, step: float = 1.0, s: torch.Tensor | None = None):
        """(z_hat, scales before the floor, means) exactly as ``compress`` derives them for ``y``:
        anchors from the hyperprior, non-anchors also from the decoded anchors."""
        z_hat = self._rounded_z(y, s)
        y = y.float()
        anchors = anchor_mask(y.shape[2:])
        hyper = self._hyper(z_hat, s)
        scales_a, means_a = self._coding_params(hyper)
        y_hat = torch.where(anchors, torch.round((y - means_a) / step) * step + means_a, torch.zeros_like(y))
        scales_n, means_n = self._coding_params(hyper, y_hat)
        return z_hat, torch.where(anchors, scales_a, scales_n), torch.where(anchors, means_a, means_n)
