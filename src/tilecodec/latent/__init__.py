"""Latent codecs (interface: ``latent.base``): factorized, hyperprior, and the conditional
codecs a hyperprior composes with (Gaussian conditional, checkerboard context)."""

from .base import Coded, LatentOut
from .checkerboard import CheckerboardCodec
from .factorized import FactorizedLatentCodec
from .gaussian import GaussianConditionalCodec
from .hyperprior import HyperpriorLatentCodec

__all__ = ["Coded", "LatentOut", "CheckerboardCodec", "FactorizedLatentCodec", "GaussianConditionalCodec",
           "HyperpriorLatentCodec"]
