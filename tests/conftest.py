import atexit
import os
import shutil
import tempfile

# Every test process (and the subprocesses tests start) runs the transforms in float32, so
# that pixels compare across processes and kernel settings; the measured bf16 rule has its
# own tests (test_determinism.py).
os.environ["TILECODEC_BF16"] = "0"
# Models the tests export go to a folder of their own, never to the user's model directory.
os.environ["TILECODEC_MODELS"] = tempfile.mkdtemp(prefix="tilecodec-test-models-")
atexit.register(shutil.rmtree, os.environ["TILECODEC_MODELS"], True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import tilecodec  # noqa: E402
from tilecodec.demo import SAMPLE  # noqa: E402


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
