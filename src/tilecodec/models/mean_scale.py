"""Mean-scale hyperprior (Minnen, Ballé, Toderici, "Joint autoregressive and hierarchical
priors for learned image compression", NeurIPS 2018, without the autoregressive part)."""

from torch import nn

from ..latent import HyperpriorLatentCodec
from ..layers import conv, deconv
from .base import CompressionModel
from .transforms import analysis_transform, synthesis_transform


class MeanScaleHyperprior(CompressionModel):
    """Gaussian conditional whose means and scales come from a hyper-latent."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None):
        """``lmbdas``: train one rate level per lambda with gain units (variable rate)."""
        super().__init__()
        self.analysis = analysis_transform(N, M)
        self.synthesis = synthesis_transform(N, M)
        hyper_analysis = nn.Sequential(conv(M, N, 3, 1), nn.LeakyReLU(inplace=True), conv(N, N),
                                       nn.LeakyReLU(inplace=True), conv(N, N))
        hyper_synthesis = nn.Sequential(deconv(N, M), nn.LeakyReLU(inplace=True),
                                        deconv(M, M * 3 // 2), nn.LeakyReLU(inplace=True),
                                        conv(M * 3 // 2, M * 2, 3, 1))
        self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N, mean_scale=True,
                                                 levels=len(lmbdas) if lmbdas else None)
        if lmbdas:
            self.add_gain_units(lmbdas, M)
