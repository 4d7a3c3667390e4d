"""Neural-network building blocks shared by the models."""

from .conv import conv, deconv
from .gdn import GDN, NonNegative

__all__ = ["conv", "deconv", "GDN", "NonNegative"]
