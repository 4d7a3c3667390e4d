"""Mean-scale hyperprior with a channel-wise autoregressive context and latent residual
prediction (ChARM: Minnen and Singh, ICIP 2020), on the transforms of the checkerboard model,
so one can start from the other's weights."""

from ..latent import HyperpriorLatentCodec
from ..latent.channel import ChannelContextCodec
from .base import CompressionModel
from .transforms import analysis_transform, mean_scale_hyper_transforms, synthesis_transform


class ChannelAutoregressiveHyperprior(CompressionModel):
    """``slices`` equal channel slices coded in turn; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None, slices: int = 6):
        super().__init__()
        self.analysis = analysis_transform(N, M, widths)
        self.synthesis = synthesis_transform(N, M, widths)
        hyper_analysis, hyper_synthesis = mean_scale_hyper_transforms(N, M, hyper_widths)
        levels = len(lmbdas) if lmbdas else None
        context = ChannelContextCodec(M, slices, levels=levels)
        self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N, context, levels=levels)
        if lmbdas:
            self.add_gain_units(lmbdas, M)
