"""Variational patch codecs with intra prediction (the thesis's second family, after Minnen et
al., ICIP 2017): an image is coded as 32x32 blocks, each predicted from its decoded causal
neighbours, and only the residual is coded, by a small variational codec (Ballé et al.).

- ``PatchCodec``: the residual codec of the thesis's Table 4.3, three stride-2 convolutions
  with GDN (analysis) and IGDN (synthesis), a factorized entropy model, or a mean-scale
  hyperprior per block; one model for every rate with gain units (Cui et al., 2021), where
  the thesis trained one model per rate.
- ``EmbeddedPredictor``: the thesis's Table 4.4, the four causal neighbours stacked in the
  channels (12), three stride-2 convolutions and three transposed convolutions with leaky
  ReLU, trained end to end with the codec.
- ``PredictivePatchCodec``: a ``PatchCodec`` with a predictor: none (the baseline codes blocks
  directly), the inpainting autoencoder of ``intra.learned`` (pre-trained, frozen) or the
  embedded one. ``forward_blocks`` is its training step; ``compress`` and ``decompress``
  code whole images (``models.predictive``).

Neighbours are N x 4 x 3 x 32 x 32 (top-left, top, top-right, left, as ``intra.learned.windows``
cuts them); a neighbour outside the image or not yet decoded is mid-grey (``MISSING``).
"""

import torch
from torch import nn

from ..intra.learned import InpaintingPredictor
from ..latent import FactorizedLatentCodec, GaussianConditionalCodec, HyperpriorLatentCodec
from ..layers import GDN, conv, deconv
from .base import CompressionModel
from .transforms import mean_scale_hyper_transforms

BLOCK = 32
MISSING = 0.5  # the value of an unavailable neighbour's samples
PREDICTORS = ("none", "pretrained", "embedded")


class PatchCodec(CompressionModel):
    """Codes N x 3 x H x W residuals (H, W multiples of 8) through 8x smaller latents."""

    size_multiple = 8
    format4_multiple = None
    latent_stride = 8

    def __init__(self, N: int = 128, M: int = 128, lmbdas: list | None = None, hyperprior: bool = False,
                 level_densities: bool = False):
        """``level_densities``: a factorized density per rate level (``FactorizedLatentCodec``)."""
        super().__init__()
        self.analysis = nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, M))
        self.synthesis = nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
                                       deconv(N, 3))
        levels = len(lmbdas) if lmbdas else None
        if hyperprior:
            hyper_analysis, hyper_synthesis = mean_scale_hyper_transforms(N, M)
            self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N,
                                                     GaussianConditionalCodec(True, levels), levels=levels)
        else:
            self.latent_codec = FactorizedLatentCodec(M, levels if level_densities else None)
        if lmbdas:
            self.add_gain_units(lmbdas, M)


class EmbeddedPredictor(nn.Module):
    """``forward(neighbours)``: N x 4 x 3 x 32 x 32 -> the predicted block, N x 3 x 32 x 32 in [0, 1]."""

    def __init__(self, width: int = 64):
        super().__init__()
        w = width
        act = nn.LeakyReLU(0.2)
        self.net = nn.Sequential(
            nn.Conv2d(12, w, 4, stride=2, padding=1), act,
            nn.Conv2d(w, w * 2, 4, stride=2, padding=1), act,
            nn.Conv2d(w * 2, w * 4, 4, stride=2, padding=1), act,
            nn.ConvTranspose2d(w * 4, w * 2, 4, stride=2, padding=1), act,
            nn.ConvTranspose2d(w * 2, w, 4, stride=2, padding=1), act,
            nn.ConvTranspose2d(w, 3, 4, stride=2, padding=1), nn.Sigmoid())

    def forward(self, neighbours: torch.Tensor) -> torch.Tensor:
        return self.net(neighbours.flatten(1, 2))


def inpainting_context(neighbours: torch.Tensor) -> torch.Tensor:
    """The inpainting predictor's 64x64 input from the four neighbours: [top-left, top] over
    [left, unknown]."""
    top_left, top, _, left = neighbours.unbind(1)
    return torch.cat([torch.cat([top_left, top], 3), torch.cat([left, torch.zeros_like(left)], 3)], 2)


class PredictivePatchCodec(PatchCodec):
    """``predictor``: "none", "pretrained" (an ``InpaintingPredictor`` of ``width``, frozen;
    its weights travel in the model's file) or "embedded" (``EmbeddedPredictor`` of
    ``width``). ``modes``: the encoder may choose, per block, the learned prediction, none
    (mid-grey) or one of the 35 HEVC modes, signalled in the file (``models.predictive``)."""

    size_multiple = BLOCK

    def __init__(self, N: int = 128, M: int = 128, lmbdas: list | None = None, hyperprior: bool = False,
                 predictor: str = "embedded", width: int = 64, modes: bool = False, level_densities: bool = False):
        super().__init__(N, M, lmbdas, hyperprior, level_densities)
        if predictor not in PREDICTORS:
            raise ValueError(f"unknown predictor {predictor!r}; known: {', '.join(PREDICTORS)}")
        self.kind, self.modes = predictor, bool(modes)
        if predictor == "embedded":
            self.predictor = EmbeddedPredictor(width)
        elif predictor == "pretrained":
            self.predictor = InpaintingPredictor(width).requires_grad_(False)
        else:
            self.predictor = None

    @property
    def uses_top_right(self) -> bool:
        """Whether a block's prediction reads its top-right neighbour (it decides the coding order)."""
        return self.kind == "embedded" or self.modes

    @property
    def num_strings(self) -> int:
        """The latents' string, and the block modes' with ``modes`` (``models.predictive``)."""
        return 1 + int(self.modes)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.kind == "pretrained":
            self.predictor.eval()
        return self

    def predict(self, neighbours: torch.Tensor) -> torch.Tensor:
        """The learned prediction of each block from its neighbours (mid-grey without a predictor)."""
        if self.predictor is None:
            return torch.full_like(neighbours[:, 0], MISSING) if self.modes else torch.zeros_like(neighbours[:, 0])
        if self.kind == "pretrained":
            return self.predictor(inpainting_context(neighbours))
        return self.predictor(neighbours)

    def forward_blocks(self, neighbours: torch.Tensor, x: torch.Tensor, s: torch.Tensor | None = None) -> dict:
        """Training on blocks ``x`` (N x 3 x 32 x 32) with their ``neighbours``: {"x_hat"
        (prediction + decoded residual), "likelihoods", "prediction"}."""
        prediction = self.predict(neighbours)
        out = self(x - prediction, s)
        return {**out, "x_hat": prediction + out["x_hat"], "prediction": prediction}

    def compress(self, x, quality: float, refine: int = 0, path=None, max_pixels: int | None = None):
        from .predictive import compress

        return compress(self, x, quality, refine, path)

    def decompress(self, strings, sizes, quality: float, path=None, max_pixels: int | None = None):
        from .predictive import decompress

        return decompress(self, strings, sizes, quality, path)
