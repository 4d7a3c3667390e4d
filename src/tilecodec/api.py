"""The Python API: ``load()``, ``Codec.compress()`` and ``Codec.decompress()``.

``quality`` (0-100, higher is better) sets the latent quantization step
``step = 2 ** ((50 - quality) / 25)``: 4 at quality 0, 1 (the trained rate) at 50, 0.25
at 100 (Theis et al., 2017). The rate grows monotonically with quality.
"""

import numpy as np

from . import container, zoo
from .errors import BitstreamError, TilecodecError
from .images import as_array, to_array, to_tensor


def step_for_quality(quality: float) -> float:
    """The latent quantization step for a quality in [0, 100]."""
    q = float(quality)
    if not 0.0 <= q <= 100.0:
        raise TilecodecError(f"quality must be between 0 and 100, got {quality}")
    return float(np.float32(2.0 ** ((50.0 - q) / 25.0)))


class Codec:
    """One loaded model; compresses images to bytes and back."""

    def __init__(self, model, entry: zoo.ZooEntry):
        self.model = model
        self.entry = entry

    @property
    def name(self) -> str:
        return self.entry.name

    def compress(self, image, quality: float = 75) -> bytes:
        """PIL image or HxW(x3) uint8 array -> .tlc bytes."""
        array = as_array(image)
        step = step_for_quality(quality) if self.model.variable_rate else 1.0
        height, width = array.shape[:2]
        channels = 1 if array.ndim == 2 else 3
        strings = self.model.compress(to_tensor(array, self.model.downsampling), step)
        header = container.Header(self.entry.name, self.entry.short_hash, width, height, channels,
                                  float(quality), step, sections=len(strings))
        return container.pack(header, strings)

    def decompress(self, data: bytes) -> np.ndarray:
        """.tlc bytes -> HxWx3 (or HxW for grayscale) uint8 array; BitstreamError if invalid."""
        header, sections = container.unpack(data)
        if (header.model, header.model_hash) != (self.entry.name, self.entry.short_hash):
            raise BitstreamError(f"file was made with model {header.model} ({header.model_hash}); "
                                 f"this codec is {self.entry.name} ({self.entry.short_hash})")
        if len(sections) != self.model.latent_codec.num_strings:
            raise BitstreamError(f"file has {len(sections)} sections; model expects "
                                 f"{self.model.latent_codec.num_strings}")
        m = self.model.downsampling
        size = (-(-header.height // m) * m, -(-header.width // m) * m)
        x_hat = self.model.decompress(sections, size, header.step)
        return to_array(x_hat, header.height, header.width, header.channels)


_CACHE: dict[str, Codec] = {}


def load(name: str | None = None) -> Codec:
    """The bundled model ``name`` (default: the zoo's default), loaded once per process."""
    name = name or zoo.DEFAULT_MODEL
    if name not in _CACHE:
        model, entry = zoo.load_model(name)
        _CACHE[name] = Codec(model, entry)
    return _CACHE[name]


def models() -> list[str]:
    """Names of the bundled models."""
    return sorted(zoo.registry())


def info(data: bytes) -> container.Header:
    """The checked header of a .tlc file."""
    return container.read_header(data)[0]
