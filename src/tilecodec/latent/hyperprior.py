"""Latent codec with a hyperprior (Ballé et al., 2018; Minnen et al., 2018).

A hyper-latent ``z = hyper_analysis(y)`` is coded with a factorized density; the
hyper-synthesis of its reconstruction predicts the scales (and, for mean-scale, the
means) of a Gaussian conditional for ``y``. Strings: ``[z_bytes, y_bytes]``.

With ``levels``, z has gain units too (Cui et al., 2021): ``z * gain(s)`` is coded and
``z_hat * inverse_gain(s)`` feeds the hyper-synthesis.

Coding uses each scale raised to at least a per-level floor (``scale_floors``, in units of
the quantization step; 0.11, the table minimum, unless calibrated at export, see
``train.calibrate``). Trained with additive noise, the hyper-synthesis predicts scales
far below 0.11 where rounding still yields +-1 now and then; a calibrated floor codes
those symbols more cheaply. It changes only probabilities, never the symbols.

Coding runs the entropy path (everything from z_hat to scales, means and table indexes)
in exact fixed-point arithmetic (``exact=True``, ``fixed_point``, format version 4), or in
plain float64 (``exact=False``), as version 3 files were coded.
"""

import torch
from torch import nn

from .. import fixed_point
from ..entropy.gaussian import SCALE_MIN
from ..layers import GainUnit, interpolate_levels, run_inference
from ..numerics import ENTROPY_DTYPE, entropy_copy, entropy_path, fast_transform, row_bands
from .factorized import FactorizedLatentCodec
from .gaussian import GaussianLatentCodec


class HyperpriorLatentCodec(nn.Module):
    """``mean_scale=True``: hyper_synthesis outputs 2C channels, scales then means."""

    num_strings = 2
    variable_rate = True

    def __init__(self, hyper_analysis: nn.Module, hyper_synthesis: nn.Module, z_channels: int,
                 mean_scale: bool, downsampling: int = 4, levels: int | None = None):
        super().__init__()
        self.hyper_analysis = hyper_analysis
        self.hyper_synthesis = hyper_synthesis
        self.z = FactorizedLatentCodec(z_channels)
        self.y = GaussianLatentCodec()
        self.mean_scale = mean_scale
        self.downsampling = downsampling
        if levels:
            self.z_gain = GainUnit(levels, z_channels)
            self.z_inverse_gain = GainUnit(levels, z_channels)
        else:
            self.z_gain = self.z_inverse_gain = None
        self.register_buffer("scale_floors", torch.full((levels or 1,), SCALE_MIN))

    def floored(self, scales: torch.Tensor, s: torch.Tensor | None, step: float = 1.0,
                exact: bool = False) -> torch.Tensor:
        """``scales`` as coded: at least the floor of level ``s`` (geometric between levels) x
        ``step``, computed in the dtype of ``scales``, or (``exact``) on the fixed-point grid."""
        if exact:
            floor = fixed_point.scale_floor(tuple(self.scale_floors.double().tolist()),
                                            None if s is None else float(s[0]))
            return scales.clamp_min(floor * step)
        log_floors = torch.log(self.scale_floors.to(scales.dtype))[:, None]
        if s is None:
            floor = torch.exp(log_floors[:1])
        else:
            floor = torch.exp(interpolate_levels(log_floors, s))
        return torch.maximum(scales, floor[:, :, None, None] * step)

    def _hyper(self, z_hat: torch.Tensor, s: torch.Tensor | None, coding: bool = False,
               exact: bool = False) -> torch.Tensor:
        """The hyper-synthesis of the (inverse-gained) hyper-latent: float32 for training; for
        ``coding`` on the entropy path in float64 (``exact``: fixed-point), in two row bands
        side by side on large inputs (its output rows see z rows within 2: a 3x3 conv at 1x,
        2x and 4x resolution)."""
        z_hat = z_hat.to(ENTROPY_DTYPE) if coding else z_hat.float()
        if coding and exact:
            if self.z_inverse_gain is not None:
                z_hat = z_hat * fixed_point.gains(self.z_inverse_gain.log_gain, float(s[0]))
            layers = entropy_copy(self.hyper_synthesis, exact=True)
            return row_bands(lambda z: fixed_point.run(layers, z), fixed_point.on_grid(z_hat), 2, self.downsampling)
        if self.z_inverse_gain is not None:
            z_hat = self.z_inverse_gain(z_hat, s)
        if not coding:
            return self.hyper_synthesis(z_hat)
        layers = entropy_copy(self.hyper_synthesis)
        return row_bands(lambda z: run_inference(layers, z), z_hat, 2, self.downsampling)

    def _params(self, z_hat: torch.Tensor, s: torch.Tensor | None, coding: bool = False, exact: bool = False):
        out = self._hyper(z_hat, s, coding, exact)
        if self.mean_scale:
            scales, means = out.chunk(2, dim=1)
            return scales, means
        return out, None

    def _z(self, z: torch.Tensor, s: torch.Tensor | None) -> torch.Tensor:
        return self.z_gain(z, s) if self.z_gain is not None else z

    def _train_z(self, y: torch.Tensor, s: torch.Tensor | None, quantize=None):
        """Training (or refinement, with ``quantize``): (z_hat, z likelihoods)."""
        z_hat, z_lik, _ = self.z(self._z(self.hyper_analysis(y), s), quantize)
        return z_hat, z_lik["y"]

    def _code_z(self, y: torch.Tensor, s: torch.Tensor | None, fast: bool):
        """Coding: ([z bytes], z_hat exactly as the decoder will see it)."""
        return self.z.compress(self._z(fast_transform(self.hyper_analysis, y, fast).contiguous(), s))

    def _rounded_z(self, y: torch.Tensor, s: torch.Tensor | None) -> torch.Tensor:
        """z_hat from a float32 hyper-analysis, for rate estimates and calibration."""
        return self.z.density.quantize(self._z(self.hyper_analysis(y.float()), s), noise=False)

    def forward(self, y: torch.Tensor, s: torch.Tensor | None = None, quantize=None):
        """Training: (y_hat, likelihoods of y and z, extras). With ``quantize`` (refinement),
        y and z are quantized by it and y's likelihoods use the coding scale floors."""
        z_hat, z_lik = self._train_z(y, s, quantize)
        with torch.autocast("cpu", enabled=False):
            scales, means = self._params(z_hat, s)
            if quantize is not None:
                scales = self.floored(scales, s)
        y_hat, y_lik, extras = self.y(y, scales, means, quantize)
        return y_hat, {**y_lik, "z": z_lik}, extras

    @torch.no_grad()
    def compress(self, y: torch.Tensor, step: float = 1.0, fast: bool = False,
                 s: torch.Tensor | None = None, exact: bool = True) -> tuple[list[bytes], torch.Tensor]:
        """``fast``: allow bf16 for the hyper-analysis (encoder only; z is coded exactly)."""
        z_strings, z_hat = self._code_z(y, s, fast)
        scales, means = self._params(z_hat, s, coding=True, exact=exact)
        with entropy_path():
            scales = self.floored(scales, s, step, exact)
        y_strings, y_hat = self.y.compress(y, scales, means, step, exact)
        return z_strings + y_strings, y_hat

    @torch.no_grad()
    def decompress(self, strings: list[bytes], shape: tuple[int, int], step: float = 1.0,
                   s: torch.Tensor | None = None, exact: bool = True) -> torch.Tensor:
        """``shape``: spatial size of y; the hyper-latent is ``downsampling`` times smaller."""
        zs = (shape[0] // self.downsampling, shape[1] // self.downsampling)
        z_hat = self.z.decompress(strings[:1], zs)
        scales, means = self._params(z_hat, s, coding=True, exact=exact)
        with entropy_path():
            scales = self.floored(scales, s, step, exact)
        return self.y.decompress(strings[1:], scales, means, step, exact)

    @torch.no_grad()
    def coding_params(self, y: torch.Tensor, step: float = 1.0, s: torch.Tensor | None = None):
        """(z_hat, scales before the floor, means) exactly as ``compress`` derives them for ``y``
        (hyper-analysis in float32)."""
        z_hat = self._rounded_z(y, s)
        scales, means = self._params(z_hat, s, coding=True, exact=True)
        return z_hat, scales, means

    @torch.no_grad()
    def estimate_bits(self, y: torch.Tensor, step: float = 1.0, s: torch.Tensor | None = None) -> float:
        """The model's own rate estimate (sum of -log2 likelihoods) for the symbols ``compress`` codes."""
        z_hat, scales, means = self.coding_params(y, step, s)
        bits = -torch.log2(self.z.density.likelihood(z_hat).double()).sum()
        mu = means if means is not None else torch.zeros_like(y)
        symbols = torch.round((y.float() - mu) / step)
        scales = self.floored(scales, s, step, exact=True)
        bits -= torch.log2(self.y.gaussian.likelihood(symbols, scales / step, None).double()).sum()
        return float(bits)
