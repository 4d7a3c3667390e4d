"""Latent codecs (interface: ``latent.base``): factorized, hyperprior, and the conditional
codecs a hyperprior composes with (Gaussian conditional, checkerboard, serial
autoregressive and channel-wise context)."""

from .autoregressive import AutoregressiveCodec
from .base import Coded, LatentOut
from .channel import ChannelContextCodec
from .checkerboard import CheckerboardCodec
from .factorized import FactorizedLatentCodec
from .gaussian import GaussianConditionalCodec
from .hyperprior import HyperpriorLatentCodec

__all__ = ["AutoregressiveCodec", "ChannelContextCodec", "Coded", "LatentOut", "CheckerboardCodec", "FactorizedLatentCodec", "GaussianConditionalCodec",
           "HyperpriorLatentCodec"]
