"""Mean-scale hyperprior with a serial autoregressive context (Minnen, Ballé and Toderici,
NeurIPS 2018: "joint autoregressive and hierarchical priors"), on the same transforms as the
checkerboard model, so one can start from the other's weights."""

from ..latent.autoregressive import AutoregressiveCodec
from ..layers.masked import MaskedConv
from .base import CompressionModel
from .transforms import entropy_parameters, hyperprior_model


class JointAutoregressiveHyperprior(CompressionModel):
    """5x5 raster-causal context, coded in wavefronts; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None):
        super().__init__()
        hyperprior_model(self, N, M, lmbdas, widths, hyper_widths,
                         lambda levels: AutoregressiveCodec(MaskedConv(M, 2 * M), entropy_parameters(M), levels))
