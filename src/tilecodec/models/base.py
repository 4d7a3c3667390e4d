"""An image codec model = analysis + synthesis transforms + one latent codec.

``quality`` (0-100) controls the rate. A model with gain units (``lmbdas``, Cui et al.
2021) maps it to a continuous rate level ``s = quality / 100 * (L - 1)`` between its L
trained levels; otherwise it scales the latent quantization step,
``step = 2 ** ((50 - quality) / 25)`` (Theis et al., 2017), or is fixed-rate.
"""

import numpy as np
import torch
from torch import nn

from ..errors import TilecodecError
from ..layers import GainUnit, subpixel_deconv
from ..numerics import entropy_map, fast_transform


def step_for_quality(quality: float) -> float:
    """The latent quantization step for a quality in [0, 100] (models without gain units)."""
    q = check_quality(quality)
    return float(np.float32(2.0 ** ((50.0 - q) / 25.0)))


def check_quality(quality: float) -> float:
    """``quality`` as the float32 value the file stores, or TilecodecError if outside [0, 100]."""
    q = float(quality)
    if not 0.0 <= q <= 100.0:
        raise TilecodecError(f"quality must be between 0 and 100, got {quality}")
    return float(np.float32(q))


class CompressionModel(nn.Module):
    """Subclasses set ``analysis``, ``synthesis``, ``latent_codec`` and, for variable
    rate with gain units, ``gain``/``inverse_gain`` (see ``add_gain_units``).

    ``forward`` is for training (x in [0, 1], NCHW, sides divisible by ``downsampling``;
    ``s``: one rate level per image); ``compress``/``decompress`` work on real bitstreams,
    for batches of same-size images.
    """

    downsampling = 64          # image sides must be multiples of this
    latent_stride = 16         # y is this many times smaller than the image
    fast = True                # channels_last (+ bf16 where native) transforms at inference
    distortion = "mse"         # what the model was trained for ("mse" or "ms-ssim"): refinement's D

    def __init__(self):
        super().__init__()
        self.gain = self.inverse_gain = None
        self.lmbdas: tuple = ()

    def add_gain_units(self, lmbdas, channels: int) -> None:
        """One trained rate level per lambda (ascending)."""
        self.lmbdas = tuple(float(v) for v in lmbdas)
        self.gain = GainUnit(len(self.lmbdas), channels)
        self.inverse_gain = GainUnit(len(self.lmbdas), channels)

    def init_gains(self, reference_lmbda: float) -> None:
        """Start the gains where quantization-step scaling of a model trained at
        ``reference_lmbda`` would be: gain ~ sqrt(lambda / reference)."""
        with torch.no_grad():
            log_g = 0.5 * torch.log(torch.tensor(self.lmbdas) / reference_lmbda)
            self.gain.log_gain.copy_(log_g[:, None].expand_as(self.gain.log_gain))
            self.inverse_gain.log_gain.copy_(-log_g[:, None].expand_as(self.inverse_gain.log_gain))

    def controls(self, quality: float) -> tuple[float, float | None]:
        """(quantization step, rate level or None) for ``quality``; encoder and decoder agree."""
        q = check_quality(quality)
        if self.gain is not None:
            return 1.0, q / 100.0 * (len(self.lmbdas) - 1)
        return (step_for_quality(q) if self.variable_rate else 1.0), None

    def forward(self, x: torch.Tensor, s: torch.Tensor | None = None) -> dict:
        """{"x_hat", "likelihoods" (name -> tensor), and the latent codec's extras, e.g.
        "normalized" = (y - mu) / sigma for a Gaussian conditional}."""
        y = self.analysis(x)
        if self.gain is not None:
            y = self.gain(y, s)
        return self.reconstruct(y, s)

    def reconstruct(self, y: torch.Tensor, s: torch.Tensor | None = None, quantize=None) -> dict:
        """``forward`` from the gained latent ``y`` on; ``quantize`` replaces training's
        noise and straight-through rounding (see ``refine``)."""
        levels = (s,) if self.gain is not None else ()
        y_hat, likelihoods, extras = self.latent_codec(y, *levels, quantize=quantize)
        if self.gain is not None:
            y_hat = self.inverse_gain(y_hat, s)
        return {"x_hat": self.synthesis(y_hat), "likelihoods": likelihoods, **extras}

    def aux_loss(self) -> torch.Tensor:
        """Sum of the factorized densities' quantile losses (trained with its own optimizer)."""
        return sum(m.aux_loss() for m in self.modules() if hasattr(m, "aux_loss") and m is not self)

    def update_tables(self) -> None:
        """Build every entropy model's integer tables from the trained parameters."""
        for m in self.modules():
            if m is not self and hasattr(m, "update_tables"):
                m.update_tables()

    def load_weights(self, state: dict) -> None:
        """Load ``state`` strictly, except that calibration buffers (``scale_floors``) missing
        from older weights keep their defaults."""
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("scale_floors")]
        if missing or unexpected:
            raise RuntimeError(f"weights do not fit this model: missing {missing[:3]}, unexpected {unexpected[:3]}")

    @property
    def variable_rate(self) -> bool:
        """Whether ``quality`` changes the rate."""
        return self.gain is not None or self.latent_codec.variable_rate

    def _level(self, s, batch: int):
        return None if s is None else torch.full((batch,), float(s))

    def latent(self, x: torch.Tensor, quality: float, fast: bool | None = None
               ) -> tuple[torch.Tensor, float, torch.Tensor | None]:
        """(y scaled by the gains, step, levels) for Bx3xHxW ``x``: what the latent codec codes.
        ``fast`` defaults to ``self.fast``."""
        step, s = self.controls(quality)
        y = fast_transform(self.analysis, x, self.fast if fast is None else fast).contiguous()
        s = self._level(s, len(y))
        if self.gain is not None:
            y = self.gain(y, s)
        return y, step, s

    @torch.no_grad()
    def compress(self, x, quality: float, refine: int = 0) -> list[list[bytes]]:
        """x: Bx3xHxW in [0, 1] (sides multiples of ``downsampling``), or a list of such
        batches; each image's latent strings, in order. The transforms run batch by batch;
        the entropy path runs image by image, spread over threads (``entropy_map``). If the
        fast (bf16) transforms yield latents the coder refuses (non-finite or out of range, a
        rare oneDNN fault on small inputs), everything is coded again in float32.
        ``refine``: steps of encoder-side latent refinement per batch (see ``refine``)."""
        batches = list(x) if isinstance(x, (list, tuple)) else [x]
        try:
            return self._compress(batches, quality, self.fast, refine)
        except FloatingPointError:
            if not self.fast:
                raise
            return self._compress(batches, quality, False, refine)

    def _compress(self, batches: list, quality: float, fast: bool, refine: int) -> list[list[bytes]]:
        images = []
        for x in batches:
            y, step, s = self.latent(x, quality, fast)
            if refine:
                from ..refine import refine_latent

                y = refine_latent(self, x, y, s, refine, self.distortion)
            images += [y[i: i + 1] for i in range(len(y))]
        kw = {} if s is None else {"s": s[:1]}
        return entropy_map(lambda y: self.latent_codec.compress(y, step, fast, **kw)[0], images)

    @torch.no_grad()
    def decompress(self, strings: list[list[bytes]], sizes: list[tuple[int, int]], quality: float,
                   exact: bool = True) -> list[torch.Tensor]:
        """Inverse of ``compress``: each image's strings and (padded) size (H, W) -> a list of
        1x3xHxW images. Latents are decoded spread over threads; images of the same size go
        through the synthesis together. ``exact=False`` decodes strings whose entropy path ran
        in plain float64 (format version 3)."""
        step, s = self.controls(quality)
        kw = {"exact": exact} if s is None else {"s": self._level(s, 1), "exact": exact}
        d = self.latent_stride
        latents = entropy_map(lambda job: self.latent_codec.decompress(job[0], (job[1][0] // d, job[1][1] // d),
                                                                       step, **kw), list(zip(strings, sizes)))
        out = [None] * len(latents)
        for size in dict.fromkeys(sizes):
            group = [i for i, si in enumerate(sizes) if si == size]
            for i, xi in zip(group, self._synthesize(torch.cat([latents[i] for i in group]), s).split(1)):
                out[i] = xi
        return out

    def _synthesize(self, y_hat: torch.Tensor, s: float | None) -> torch.Tensor:
        y_hat = y_hat.float()  # the entropy path decodes it in float64
        if self.gain is not None:
            y_hat = self.inverse_gain(y_hat, self._level(s, len(y_hat)))
        body = fast_transform(self.synthesis[:-1], y_hat, self.fast)
        last = self.synthesis[-1]
        out = subpixel_deconv(body, last) if isinstance(last, nn.ConvTranspose2d) else last(body)
        return out.clamp_(0, 1)
