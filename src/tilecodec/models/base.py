"""An image codec model = analysis + synthesis transforms + one latent codec."""

import torch
from torch import nn

from ..numerics import fast_transform


class CompressionModel(nn.Module):
    """Subclasses set ``analysis``, ``synthesis``, ``latent_codec`` and ``downsampling``.

    ``forward`` is for training (x in [0, 1], NCHW, sides divisible by ``downsampling``);
    ``compress``/``decompress`` work on real bitstreams, batch of one.
    """

    downsampling = 64          # image sides must be multiples of this
    latent_stride = 16         # y is this many times smaller than the image
    fast = True                # bf16 + channels_last transforms at inference

    def forward(self, x: torch.Tensor) -> dict:
        y = self.analysis(x)
        y_hat, likelihoods = self.latent_codec(y)
        return {"x_hat": self.synthesis(y_hat), "likelihoods": likelihoods}

    def aux_loss(self) -> torch.Tensor:
        """Sum of the factorized densities' quantile losses (trained with its own optimizer)."""
        return sum(m.aux_loss() for m in self.modules() if hasattr(m, "aux_loss") and m is not self)

    def update_tables(self) -> None:
        """Build every entropy model's integer tables from the trained parameters."""
        for m in self.modules():
            if m is not self and hasattr(m, "update_tables"):
                m.update_tables()

    @property
    def variable_rate(self) -> bool:
        """Whether ``compress`` accepts a quantization step other than 1."""
        return self.latent_codec.variable_rate

    @torch.no_grad()
    def compress(self, x: torch.Tensor, step: float = 1.0) -> list[bytes]:
        """x: 1x3xHxW in [0, 1]; returns the latent strings."""
        y = fast_transform(self.analysis, x, self.fast).contiguous()
        strings, _ = self.latent_codec.compress(y, step, self.fast)
        return strings

    @torch.no_grad()
    def decompress(self, strings: list[bytes], size: tuple[int, int], step: float = 1.0) -> torch.Tensor:
        """Inverse of ``compress`` for an image of (padded) ``size`` = (H, W); returns 1x3xHxW."""
        shape = (size[0] // self.latent_stride, size[1] // self.latent_stride)
        y_hat = self.latent_codec.decompress(strings, shape, step)
        body = fast_transform(self.synthesis[:-1], y_hat, self.fast)
        return self.synthesis[-1](body).clamp_(0, 1)
