"""Neural-network building blocks shared by the models."""

from .conv import conv, deconv, run_inference, subpixel_deconv
from .gain import GainUnit
from .gdn import GDN, NonNegative

__all__ = ["conv", "deconv", "subpixel_deconv", "run_inference", "GainUnit", "GDN", "NonNegative"]
