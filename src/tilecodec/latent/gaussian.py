"""Latent codec: Gaussian conditional given per-element scales (and optional means)."""

import torch
from torch import nn

from ..entropy import GaussianConditional, coder
from ..entropy.gaussian import SCALE_MIN


class GaussianLatentCodec(nn.Module):
    """Codes ``round((y - means) / step)`` with the table picked by ``scales / step``."""

    def __init__(self):
        super().__init__()
        self.gaussian = GaussianConditional()

    def forward(self, y: torch.Tensor, scales: torch.Tensor, means: torch.Tensor | None, quantize=None):
        """Training: (y_hat rounded with a straight-through gradient, {"y": likelihoods under
        additive noise}, {"normalized": (y - means) / scales}). ``quantize`` (a function of
        ``y - means``, see ``refine``) gives both y_hat and the value whose likelihood counts."""
        mu = means if means is not None else torch.zeros_like(y)
        if quantize is not None:
            y_hat = noisy = quantize(y - mu) + mu
        else:
            noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else torch.round(y - mu) + mu
            y_hat = y + (torch.round(y - mu) + mu - y).detach()
        normalized = (y.float() - mu) / scales.float().clamp_min(SCALE_MIN)
        return y_hat, {"y": self.gaussian.likelihood(noisy, scales, means)}, {"normalized": normalized}

    def compress(self, y, scales, means, step: float = 1.0, exact: bool = True) -> tuple[list[bytes], torch.Tensor]:
        """Returns ([bytes], y_hat exactly as the decoder will see it). ``exact``: table
        indexes by ``GaussianConditional.indexes``'s exact thresholds."""
        mu = means if means is not None else torch.zeros_like(y)
        symbols = torch.round((y.float() - mu) / step)
        indexes = self.gaussian.indexes(scales, step, exact)
        data = coder.encode(symbols.numpy(), indexes.numpy(), self.gaussian.tables)
        return [data], symbols * step + mu

    def decompress(self, strings: list[bytes], scales, means, step: float = 1.0, exact: bool = True) -> torch.Tensor:
        """Inverse of ``compress``: needs the same scales, means, step and ``exact``."""
        indexes = self.gaussian.indexes(scales, step, exact)
        symbols = torch.from_numpy(coder.decode(strings[0], indexes.numpy(), self.gaussian.tables))
        symbols = symbols.to(scales.dtype)  # as compress computes y_hat: in the dtype of the means
        return symbols * step + (means if means is not None else 0.0)
