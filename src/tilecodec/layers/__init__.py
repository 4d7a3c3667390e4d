"""Neural-network building blocks shared by the models."""

from .conv import conv, deconv
from .gain import GainUnit
from .gdn import GDN, NonNegative

__all__ = ["conv", "deconv", "GainUnit", "GDN", "NonNegative"]
