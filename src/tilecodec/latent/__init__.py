"""Latent codecs: ``forward`` (training likelihoods), ``compress``, ``decompress``."""

from .checkerboard import CheckerboardLatentCodec
from .factorized import FactorizedLatentCodec
from .gaussian import GaussianLatentCodec
from .hyperprior import HyperpriorLatentCodec

__all__ = ["CheckerboardLatentCodec", "FactorizedLatentCodec", "GaussianLatentCodec", "HyperpriorLatentCodec"]
