"""Mean-scale hyperprior with a checkerboard context model (He et al., CVPR 2021), on
the transforms of Minnen et al. (2018)."""

from ..latent import CheckerboardCodec, HyperpriorLatentCodec
from ..layers.masked import CheckerboardConv
from .base import CompressionModel
from .transforms import analysis_transform, entropy_parameters, mean_scale_hyper_transforms, synthesis_transform


class CheckerboardHyperprior(CompressionModel):
    """Two-pass parallel context model; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None):
        super().__init__()
        self.analysis = analysis_transform(N, M, widths)
        self.synthesis = synthesis_transform(N, M, widths)
        hyper_analysis, hyper_synthesis = mean_scale_hyper_transforms(N, M, hyper_widths)
        levels = len(lmbdas) if lmbdas else None
        context = CheckerboardCodec(CheckerboardConv(M, 2 * M), entropy_parameters(M), levels)
        self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N, context, levels=levels)
        if lmbdas:
            self.add_gain_units(lmbdas, M)
