"""Mean-scale hyperprior with a checkerboard context model (He et al., CVPR 2021), on
the transforms of Minnen et al. (2018)."""

from ..latent import CheckerboardCodec
from ..layers.masked import CheckerboardConv
from .base import CompressionModel
from .transforms import entropy_parameters, hyperprior_model


class CheckerboardHyperprior(CompressionModel):
    """Two-pass parallel context model; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None):
        super().__init__()
        hyperprior_model(self, N, M, lmbdas, widths, hyper_widths,
                         lambda levels: CheckerboardCodec(CheckerboardConv(M, 2 * M), entropy_parameters(M), levels))
