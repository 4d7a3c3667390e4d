"""An image codec model = analysis + synthesis transforms + one latent codec.

``quality`` (0-100) controls the rate through the model's ``rate_control``
(``tilecodec.rate``): a continuous level between the trained levels of a model with gain
units, a latent quantization step otherwise, or a fixed rate.
"""

import torch
from torch import nn

from ..entropy.paths import FIXED_POINT
from ..layers import GainUnit, subpixel_deconv
from ..numerics import BAND_HALO, default_precision, entropy_map, fast_transform, in_bands
from ..rate import RateControl, RatePoint

# weights saved before the latent codecs composed (format 3 and 4 bundled models): old name
# prefix -> new one, applied by ``upgrade_names``
LEGACY_NAMES = (
    ("latent_codec.context.", "latent_codec.y.context."),
    ("latent_codec.entropy_parameters.", "latent_codec.y.entropy_parameters."),
    ("latent_codec.scale_floors", "latent_codec.y.gaussian.scale_floors"),
)


def upgrade_names(state: dict) -> dict:
    """``state`` with tensor names from before the latent codecs composed renamed."""
    out = {}
    for key, value in state.items():
        for old, new in LEGACY_NAMES:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


class CompressionModel(nn.Module):
    """Subclasses set ``analysis``, ``synthesis``, ``latent_codec`` and, for variable
    rate with gain units, ``gain``/``inverse_gain`` (see ``add_gain_units``).

    ``forward`` is for training (x in [0, 1], NCHW, sides divisible by ``size_multiple``;
    ``s``: one rate level per image); ``compress``/``decompress`` work on real bitstreams,
    for batches of same-size images.
    """

    size_multiple = 16         # image sides must be multiples of this (files pad images and patches to it)
    format4_multiple = 64      # what files of format 4 and earlier padded to, where that differs
    latent_stride = 16         # y is this many times smaller than the image
    distortion = "mse"         # what the model was trained for ("mse" or "ms-ssim"): refinement's D

    def __init__(self):
        super().__init__()
        self.gain = self.inverse_gain = None
        self.lmbdas: tuple = ()
        self.precision = default_precision()  # of the transforms at inference (numerics)

    def padding_multiple(self, version: int) -> int:
        """What the images and patches of a file of format ``version`` are padded to."""
        return self.size_multiple if version >= 5 or self.format4_multiple is None else self.format4_multiple

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

    @property
    def rate_control(self) -> RateControl:
        return RateControl(self.lmbdas if self.gain is not None else (), self.latent_codec.variable_rate)

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
        y_hat, likelihoods, extras = self.latent_codec(y, s if self.gain is not None else None, quantize=quantize)
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
        """Load ``state`` strictly (older tensor names upgraded), except that calibration
        buffers (``scale_floors``) missing from older weights keep their defaults."""
        missing, unexpected = self.load_state_dict(upgrade_names(state), strict=False)
        missing = [k for k in missing if not k.endswith("scale_floors")]
        if missing or unexpected:
            raise RuntimeError(f"weights do not fit this model: missing {missing[:3]}, unexpected {unexpected[:3]}")

    @property
    def num_strings(self) -> int:
        """How many strings (file sections) ``compress`` gives each image."""
        return self.latent_codec.num_strings

    def strings_at(self, quality: float) -> int:
        """How many strings ``compress`` gives each image at ``quality`` (a progressive model's
        depend on it)."""
        return self.num_strings

    @property
    def variable_rate(self) -> bool:
        """Whether ``quality`` changes the rate."""
        return self.rate_control.variable_rate

    def latent(self, x: torch.Tensor, rate: RatePoint, precision: str | None = None,
               max_pixels: int | None = None) -> torch.Tensor:
        """The latent the latent codec codes for Bx3xHxW ``x`` at ``rate`` (scaled by the
        gains), from the analysis in ``precision`` (default: the model's)."""
        return self.gained(self.analyse(x, precision, max_pixels), rate)

    def _band_rows(self, x: torch.Tensor, full_res: bool, max_pixels: int | None) -> int | None:
        """Latent rows per band so that a band and its halo cover at most ``max_pixels``
        image pixels (``x``: images if ``full_res``, else latents)."""
        if max_pixels is None:
            return None
        width = x.shape[3] * (1 if full_res else self.latent_stride)
        return max(1, max_pixels // (len(x) * width * self.latent_stride) - 2 * BAND_HALO)

    def analyse(self, x: torch.Tensor, precision: str | None = None, max_pixels: int | None = None) -> torch.Tensor:
        """The analysis transform's output for Bx3xHxW ``x``, the same at every rate; with
        ``max_pixels``, run in bands of at most that many pixels (``numerics.in_bands``)."""
        precision = precision or self.precision
        return in_bands(lambda v: fast_transform(self.analysis, v, precision).contiguous(), x,
                        self.latent_stride, 1, self._band_rows(x, True, max_pixels))

    def gained(self, y: torch.Tensor, rate: RatePoint) -> torch.Tensor:
        """``analyse``'s output scaled by the gains of ``rate``'s level (unchanged without gain units)."""
        return self.gain(y, rate.levels(len(y))) if self.gain is not None else y

    @torch.no_grad()
    def compress(self, x, quality: float, refine: int = 0, path=FIXED_POINT,
                 max_pixels: int | None = None) -> list[list[bytes]]:
        """x: Bx3xHxW in [0, 1] (sides multiples of ``size_multiple``), or a list of such
        batches; each image's latent strings, in order, coded on the entropy ``path`` (the
        container's choice for the format it writes). The transforms run batch by batch; the entropy path runs image by image, spread
        over threads (``entropy_map``). If the fast transforms yield latents the coder refuses
        (non-finite or out of range), everything is coded again in "reference" precision.
        ``refine``: steps of encoder-side latent refinement per batch (see ``refine``).
        ``max_pixels``: the analysis runs in bands of at most that many pixels."""
        batches = list(x) if isinstance(x, (list, tuple)) else [x]
        rate = self.rate_control.point(quality)
        try:
            return self._compress(batches, rate, self.precision, refine, path, max_pixels)
        except FloatingPointError:
            if self.precision == "reference":
                raise
            return self._compress(batches, rate, "reference", refine, path, max_pixels)

    def _compress(self, batches: list, rate: RatePoint, precision: str, refine: int, path,
                  max_pixels: int | None) -> list[list[bytes]]:
        from ..refine import refine_latent

        images = []
        for x in batches:
            y = self.latent(x, rate, precision, max_pixels)
            if refine:
                y = refine_latent(self, x, y, rate, refine)
            images += [y[i: i + 1] for i in range(len(y))]
        return entropy_map(lambda y: self.latent_codec.compress(y, rate, path, precision).strings, images)

    @torch.no_grad()
    def decompress(self, strings: list[list[bytes]], sizes: list[tuple[int, int]], quality: float,
                   path=FIXED_POINT, max_pixels: int | None = None) -> list[torch.Tensor]:
        """Inverse of ``compress``: each image's strings and (padded) size (H, W) -> a list of
        1x3xHxW images. Latents are decoded on the entropy ``path`` the file was coded with
        (``container.entropy_path``), spread over threads; images of the same size go through
        the synthesis together, in bands of at most ``max_pixels`` pixels."""
        rate = self.rate_control.point(quality)
        d = self.latent_stride
        latents = entropy_map(lambda job: self.latent_codec.decompress(job[0], (job[1][0] // d, job[1][1] // d),
                                                                       rate, path), list(zip(strings, sizes)))
        out = [None] * len(latents)
        for size in dict.fromkeys(sizes):
            group = [i for i, si in enumerate(sizes) if si == size]
            for i, xi in zip(group, self.synthesize(torch.cat([latents[i] for i in group]), rate,
                                                    max_pixels).split(1)):
                out[i] = xi
        return out

    def synthesize(self, y_hat: torch.Tensor, rate: RatePoint, max_pixels: int | None = None) -> torch.Tensor:
        """Decoded latents (as ``latent`` gives them, any float dtype) -> images in [0, 1];
        with ``max_pixels``, in bands of at most that many pixels (``numerics.in_bands``)."""
        y_hat = y_hat.float()  # the entropy path decodes it in float64
        if self.gain is not None:
            y_hat = self.inverse_gain(y_hat, rate.levels(len(y_hat)))
        return in_bands(self._synthesis, y_hat, 1, self.latent_stride, self._band_rows(y_hat, False, max_pixels))

    def _synthesis(self, y_hat: torch.Tensor) -> torch.Tensor:
        if not isinstance(self.synthesis, nn.Sequential):  # a deployed graph (tilecodec.deploy)
            return fast_transform(self.synthesis, y_hat, self.precision).clamp_(0, 1)
        body = fast_transform(self.synthesis[:-1], y_hat, self.precision)
        last = self.synthesis[-1]
        out = subpixel_deconv(body, last) if isinstance(last, nn.ConvTranspose2d) else last(body)
        return out.clamp_(0, 1)
