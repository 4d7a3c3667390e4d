"""Mean-scale hyperprior with a serial autoregressive context (Minnen, Ballé and Toderici,
NeurIPS 2018: "joint autoregressive and hierarchical priors"), on the same transforms as the
checkerboard model, so one can start from the other's weights."""

from ..latent import HyperpriorLatentCodec
from ..latent.autoregressive import AutoregressiveCodec
from ..layers.masked import MaskedConv
from .base import CompressionModel
from .transforms import analysis_transform, entropy_parameters, mean_scale_hyper_transforms, synthesis_transform


class JointAutoregressiveHyperprior(CompressionModel):
    """5x5 raster-causal context, coded in wavefronts; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None):
        super().__init__()
        self.analysis = analysis_transform(N, M, widths)
        self.synthesis = synthesis_transform(N, M, widths)
        hyper_analysis, hyper_synthesis = mean_scale_hyper_transforms(N, M, hyper_widths)
        levels = len(lmbdas) if lmbdas else None
        context = AutoregressiveCodec(MaskedConv(M, 2 * M), entropy_parameters(M), levels)
        self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N, context, levels=levels)
        if lmbdas:
            self.add_gain_units(lmbdas, M)
