"""Latent codec with a hyperprior (Ballé et al., 2018; Minnen et al., 2018).

A hyper-latent ``z = hyper_analysis(y)`` is coded with a factorized density; the
hyper-synthesis of its reconstruction gives the parameters with which a conditional codec
``y`` (``GaussianConditionalCodec``, ``CheckerboardCodec``, ...) codes ``y``.
Strings: ``[z_bytes, *y_strings]``.

With ``levels``, z has gain units too (Cui et al., 2021): ``z * gain(s)`` is coded and
``z_hat * inverse_gain(s)`` feeds the hyper-synthesis. When coding, everything from z_hat
on runs on an entropy path (``entropy.paths``): on all of the caller's threads for a path with
exact sums, else in two row bands side by side on large inputs (``numerics.row_bands``: the
hyper-synthesis's output rows see z rows within 2).

y may have any size: the hyper-analysis sees it edge-padded to a multiple of ``hyper_stride``
(z has ``ceil(size / hyper_stride)`` positions) and the hyper-synthesis's output is cropped
back to y's size. A y whose sides are multiples of ``hyper_stride`` is coded as before; the
padding lets images be multiples of the latent stride (16) instead of 64: at most 15 padded
pixels per side reach the analysis, and padded latents are never coded.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..entropy.paths import FIXED_POINT
from ..layers import GainUnit
from ..numerics import entropy_scope, fast_transform, row_bands
from .base import Coded, LatentOut, estimate_bits, pass_params
from .factorized import FactorizedLatentCodec


class HyperpriorLatentCodec(nn.Module):
    """``hyper_stride``: how many times smaller z is than y."""

    variable_rate = True

    def __init__(self, hyper_analysis: nn.Module, hyper_synthesis: nn.Module, z_channels: int,
                 y: nn.Module, hyper_stride: int = 4, levels: int | None = None):
        super().__init__()
        self.hyper_analysis = hyper_analysis
        self.hyper_synthesis = hyper_synthesis
        self.z = FactorizedLatentCodec(z_channels)
        self.hyper_stride = hyper_stride
        if levels:
            self.z_gain = GainUnit(levels, z_channels)
            self.z_inverse_gain = GainUnit(levels, z_channels)
        else:
            self.z_gain = self.z_inverse_gain = None
        self.y = y  # registered last: the parameter order (optimizer checkpoints) is that of older versions

    @property
    def num_strings(self) -> int:
        return 1 + self.y.num_strings

    def _z(self, z: torch.Tensor, levels: torch.Tensor | None) -> torch.Tensor:
        return self.z_gain(z, levels) if self.z_gain is not None else z

    def _analysis(self, y: torch.Tensor, precision: str | None = None) -> torch.Tensor:
        """The hyper-analysis of ``y`` edge-padded to a multiple of ``hyper_stride``."""
        h, w = y.shape[2:]
        ph, pw = -h % self.hyper_stride, -w % self.hyper_stride
        if ph or pw:
            y = F.pad(y, (0, pw, 0, ph), mode="replicate")
        return self.hyper_analysis(y) if precision is None else fast_transform(self.hyper_analysis, y, precision)

    def params(self, z_hat: torch.Tensor, rate, path, shape: tuple[int, int] | None = None) -> torch.Tensor:
        """The hyper-synthesis of the (inverse-gained) ``z_hat`` on the entropy ``path``, cropped
        to a y of spatial ``shape`` (default: ``hyper_stride`` times z's)."""
        z = z_hat.to(torch.float64)
        if self.z_inverse_gain is not None:
            z = z * path.gains(self.z_inverse_gain.log_gain, rate.level)
        layers = path.layers(self.hyper_synthesis)
        if path.exact_sums:  # one job on every thread the caller has: the sums' order cannot matter
            with entropy_scope(torch.get_num_threads()):
                out = path.run(layers, path.input(z))
        else:
            out = row_bands(lambda v: path.run(layers, v), path.input(z), 2, self.hyper_stride)
        return out if shape is None else out[:, :, : shape[0], : shape[1]]

    def forward(self, y: torch.Tensor, levels: torch.Tensor | None = None, quantize=None) -> LatentOut:
        """Training: (y_hat, likelihoods of y and z, extras). With ``quantize`` (refinement),
        y and z are quantized by it and y's likelihoods use the coding scale floors."""
        z_hat, z_lik, _ = self.z(self._z(self._analysis(y), levels), quantize=quantize)
        with torch.autocast(y.device.type, enabled=False):
            z_hat = z_hat.float()
            if self.z_inverse_gain is not None:
                z_hat = self.z_inverse_gain(z_hat, levels)
            params = self.hyper_synthesis(z_hat)[:, :, : y.shape[2], : y.shape[3]]
            out = self.y(y.float(), params, levels, quantize)
        return LatentOut(out.y_hat, {**out.likelihoods, "z": z_lik["y"]}, out.extras)

    @torch.no_grad()
    def compress(self, y: torch.Tensor, rate, path, precision: str = "reference") -> Coded:
        """``precision``: of the hyper-analysis (encoder only: z is coded exactly, so the
        decoder still sees what the encoder saw)."""
        z_strings, z_hat = self.z.compress(self._z(self._analysis(y, precision).contiguous(), rate.levels()))
        y_strings, y_hat = self.y.compress(y, self.params(z_hat, rate, path, y.shape[2:]), rate, path)
        return Coded(z_strings + y_strings, y_hat)

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], rate, path) -> torch.Tensor:
        """``shape``: spatial size of y."""
        z_hat = self.z.decompress(strings[:1], (-(-shape[0] // self.hyper_stride), -(-shape[1] // self.hyper_stride)))
        return self.y.decompress(strings[1:], self.params(z_hat, rate, path, shape), shape, rate, path)

    @torch.no_grad()
    def coding_params(self, y: torch.Tensor, rate, path=FIXED_POINT):
        """(z_hat, scales before the floor, means or None) exactly as ``compress`` derives them
        for ``y`` (hyper-analysis in float32), for a ``y`` codec coding under Gaussians."""
        z_hat = self.z.density.quantize(self._z(self._analysis(y.float()), rate.levels()), noise=False)
        return (z_hat, *pass_params(self.y, y, self.params(z_hat, rate, path, y.shape[2:]), rate, path))

    @torch.no_grad()
    def estimate_bits(self, y: torch.Tensor, rate, path=FIXED_POINT) -> float:
        """The model's own rate estimate (sum of -log2 likelihoods) for the symbols ``compress`` codes."""
        z_hat = self.z.density.quantize(self._z(self._analysis(y.float()), rate.levels()), noise=False)
        bits = float(-torch.log2(self.z.density.likelihood(z_hat).double()).sum())
        return bits + estimate_bits(self.y, y, self.params(z_hat, rate, path, y.shape[2:]), rate, path)
