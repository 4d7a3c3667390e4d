"""tilecodec: learned image compression that runs on a CPU.

>>> import tilecodec
>>> codec = tilecodec.load()
>>> data = codec.compress(image, quality=75)
>>> pixels = codec.decompress(data)
"""

from . import models as _architectures  # noqa: F401 (loaded first: ``models`` below is the function)
from .api import Codec, info, load, models, step_for_quality, truncate
from .batch import compress_many, decompress_many
from .errors import BitstreamError, BudgetError, ImageError, ModelError, ParameterError, TilecodecError

__version__ = "0.1.0"
__all__ = ["Codec", "load", "models", "info", "step_for_quality", "truncate", "compress_many", "decompress_many", "BitstreamError", "ImageError",
           "ModelError", "ParameterError", "BudgetError", "TilecodecError"]
