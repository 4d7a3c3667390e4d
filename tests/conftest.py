import numpy as np
import pytest
from PIL import Image

import tilecodec
from tilecodec.demo import SAMPLE


@pytest.fixture(scope="session")
def codec():
    return tilecodec.load()


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """The bundled sample photo (504x315 RGB, a downscaled crop of a CC0 photo)."""
    return np.asarray(Image.open(SAMPLE).convert("RGB"))


@pytest.fixture(scope="session")
def small_photo(photo) -> np.ndarray:
    return np.ascontiguousarray(photo[100:164, 200:264])


@pytest.fixture(scope="session")
def small_file(codec, small_photo) -> bytes:
    return codec.compress(small_photo, quality=50)
