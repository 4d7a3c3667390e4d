"""Factorized prior (Ballé, Laparra, Simoncelli, "End-to-end optimized image compression", ICLR 2017)."""

from ..latent import FactorizedLatentCodec
from .base import CompressionModel
from .transforms import analysis_transform, synthesis_transform


class FactorizedPrior(CompressionModel):
    """Each latent channel has its own learned density; no side information. Fixed rate."""

    size_multiple = 16
    format4_multiple = None

    def __init__(self, N: int = 128, M: int = 192):
        super().__init__()
        self.analysis = analysis_transform(N, M)
        self.synthesis = synthesis_transform(N, M)
        self.latent_codec = FactorizedLatentCodec(M)
