"""Cheng et al. ("Learned image compression with discretized Gaussian mixture likelihoods and
attention modules", CVPR 2020): residual-block transforms with simplified attention modules
and sub-pixel upsampling, a hyperprior, a context model and a discretized Gaussian mixture
of K = 3 components per latent element (``entropy.mixture``). The paper's context is the
serial 5x5 autoregressive one (``context="autoregressive"``); the checkerboard context
(``context="checkerboard"``) decodes in two parallel passes."""

from torch import nn

from ..latent import AutoregressiveCodec, CheckerboardCodec
from ..layers.masked import CheckerboardConv, MaskedConv
from ..layers.residual import (AttentionBlock, ResidualBlock, ResidualBlockUpsample, ResidualBlockWithStride,
                               conv3x3, subpel_conv3x3)
from .base import CompressionModel
from .transforms import hyperprior_model

CONTEXTS = {"checkerboard": (CheckerboardCodec, CheckerboardConv), "autoregressive": (AutoregressiveCodec, MaskedConv)}


def cheng_analysis(n: int, m: int) -> nn.Sequential:
    """3 -> m channels, 16x smaller (the paper has m = n)."""
    return nn.Sequential(ResidualBlockWithStride(3, n), ResidualBlock(n, n), ResidualBlockWithStride(n, n),
                         AttentionBlock(n), ResidualBlock(n, n), ResidualBlockWithStride(n, n),
                         ResidualBlock(n, n), conv3x3(n, m, 2), AttentionBlock(m))


def cheng_synthesis(n: int, m: int) -> nn.Sequential:
    """m -> 3 channels, 16x larger."""
    return nn.Sequential(AttentionBlock(m), ResidualBlock(m, n), ResidualBlockUpsample(n, n), ResidualBlock(n, n),
                         ResidualBlockUpsample(n, n), AttentionBlock(n), ResidualBlock(n, n),
                         ResidualBlockUpsample(n, n), ResidualBlock(n, n), subpel_conv3x3(n, 3))


def mixture_parameters(m: int, components: int) -> nn.Sequential:
    """Hyperprior parameters and context (4m channels) -> the components' logits, means and
    scales (3 * components * m), 1x1 convolutions (the widths of Minnen et al., 2018)."""
    return nn.Sequential(nn.Conv2d(m * 4, m * 10 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 10 // 3, m * 8 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 8 // 3, 3 * components * m, 1))


class Cheng2020GMM(CompressionModel):
    """``N``: the transforms' channels, ``M``: the latent's (the paper: both 128 or 192);
    ``context``: "checkerboard" or "autoregressive"; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 128, lmbdas: list | None = None, context: str = "checkerboard",
                 components: int = 3, hyper_widths: list | None = None):
        super().__init__()
        if context not in CONTEXTS:
            raise ValueError(f"unknown context {context!r}; known: {', '.join(CONTEXTS)}")
        codec, mask = CONTEXTS[context]
        hyperprior_model(self, N, M, lmbdas, None, hyper_widths,
                         lambda levels: codec(mask(M, 2 * M), mixture_parameters(M, components), levels,
                                              mixture=components), (cheng_analysis(N, M), cheng_synthesis(N, M)))


def cheng2020_gmm_autoregressive(**config) -> Cheng2020GMM:
    """The paper's form: the serial autoregressive context."""
    return Cheng2020GMM(context="autoregressive", **config)
