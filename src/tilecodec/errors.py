"""Exceptions raised by tilecodec. Every user-facing failure is one of these."""


class TilecodecError(Exception):
    """Base class: a failure with a one-line message fit for a user."""


class BitstreamError(TilecodecError):
    """A .tlc file is truncated, corrupted, random, absurd, or made by another model."""


class ImageError(TilecodecError):
    """An input image cannot be coded (unreadable, unsupported mode or bit depth)."""


class ModelError(TilecodecError):
    """A model name is unknown or its weights do not match the zoo's checksum."""


class ParameterError(TilecodecError, ValueError):
    """An argument is out of range or of the wrong kind (quality, bpp, region, patch...)."""


class BudgetError(TilecodecError, MemoryError):
    """Coding or decoding would need more working memory than the budget (``max_memory``)."""
