"""Scale hyperprior (Ballé et al., "Variational image compression with a scale hyperprior", ICLR 2018)."""

import torch
from torch import nn

from ..latent import GaussianConditionalCodec, HyperpriorLatentCodec
from ..layers import conv, deconv
from .base import CompressionModel
from .transforms import analysis_transform, synthesis_transform


class Abs(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(x)


class ScaleHyperprior(CompressionModel):
    """Zero-mean Gaussian conditional whose scales come from a hyper-latent."""

    def __init__(self, N: int = 128, M: int = 192):
        super().__init__()
        self.analysis = analysis_transform(N, M)
        self.synthesis = synthesis_transform(N, M)
        hyper_analysis = nn.Sequential(Abs(), conv(M, N, 3, 1), nn.ReLU(), conv(N, N), nn.ReLU(), conv(N, N))
        hyper_synthesis = nn.Sequential(deconv(N, N), nn.ReLU(), deconv(N, N), nn.ReLU(),
                                        conv(N, M, 3, 1), nn.ReLU())
        self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N, GaussianConditionalCodec(False))
