"""Entropy models (densities, scale table, integer tables) and the range coder."""

from . import coder
from .factorized import FactorizedDensity
from .gaussian import GaussianConditional, scale_table
from .tables import CdfTables, quantize_pmf

__all__ = ["coder", "FactorizedDensity", "GaussianConditional", "scale_table", "CdfTables", "quantize_pmf"]
