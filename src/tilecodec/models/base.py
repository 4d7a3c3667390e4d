"""An image codec model = analysis + synthesis transforms + one latent codec."""

import torch
from torch import nn

from ..numerics import fast_transform


class CompressionModel(nn.Module):
    """Subclasses set ``analysis``, ``synthesis``, ``latent_codec`` and ``downsampling``.

    ``forward`` is for training (x in [0, 1], NCHW, sides divisible by ``downsampling``);
    ``compress``/``decompress`` work on real bitstreams, for batches of same-size images.
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
    def compress(self, x: torch.Tensor, step: float = 1.0) -> list[list[bytes]]:
        """x: Bx3xHxW in [0, 1], sides multiples of ``downsampling``; each image's latent strings.
        The transforms run batched; the entropy path runs image by image."""
        y = fast_transform(self.analysis, x, self.fast).contiguous()
        return [self.latent_codec.compress(y[i: i + 1], step, self.fast)[0] for i in range(len(y))]

    @torch.no_grad()
    def decompress(self, strings: list[list[bytes]], size: tuple[int, int], step: float = 1.0) -> torch.Tensor:
        """Inverse of ``compress`` for images of (padded) ``size`` = (H, W); returns Bx3xHxW."""
        shape = (size[0] // self.latent_stride, size[1] // self.latent_stride)
        y_hat = torch.cat([self.latent_codec.decompress(s, shape, step) for s in strings])
        body = fast_transform(self.synthesis[:-1], y_hat, self.fast)
        return self.synthesis[-1](body).clamp_(0, 1)
