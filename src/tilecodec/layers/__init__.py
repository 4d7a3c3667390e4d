"""Neural-network building blocks shared by the models."""

from .conv import conv, deconv, run_inference, subpixel_deconv
from .gain import GainUnit, interpolate_levels
from .gdn import GDN, NonNegative

__all__ = ["conv", "deconv", "subpixel_deconv", "run_inference", "GainUnit", "interpolate_levels", "GDN", "NonNegative"]
