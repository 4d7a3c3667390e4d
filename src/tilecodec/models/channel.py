"""Mean-scale hyperprior with a channel-wise autoregressive context and latent residual
prediction (ChARM: Minnen and Singh, ICIP 2020), on the transforms of the checkerboard model,
so one can start from the other's weights."""

from ..latent.channel import ChannelContextCodec
from .base import CompressionModel
from .transforms import hyperprior_model


class ChannelAutoregressiveHyperprior(CompressionModel):
    """``slices`` equal channel slices coded in turn; ``lmbdas`` adds gain units (variable rate)."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None, slices: int = 6):
        super().__init__()
        hyperprior_model(self, N, M, lmbdas, widths, hyper_widths,
                         lambda levels: ChannelContextCodec(M, slices, levels=levels))
