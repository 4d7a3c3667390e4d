"""Latent codecs: ``forward`` (training likelihoods), ``compress``, ``decompress``."""

from .factorized import FactorizedLatentCodec
from .gaussian import GaussianLatentCodec
from .hyperprior import HyperpriorLatentCodec

__all__ = ["FactorizedLatentCodec", "GaussianLatentCodec", "HyperpriorLatentCodec"]
