"""The codecs a benchmark can run: classical ones through imagecodecs, and tilecodec models.

Every codec maps a numeric *setting* (its quality knob; the rate grows with it) to
bytes and back. ``sweep`` is the default list of settings, chosen to cover roughly
0.05 to 2 bpp on photos; ``knob`` is the range a bisection may search.
"""

import re
from dataclasses import dataclass

import numpy as np

CLASSICAL = ("jpeg", "webp", "jpeg2000", "avif", "jpegxl")


@dataclass
class BenchCodec:
    name: str
    description: str
    sweep: tuple
    knob: tuple  # (low, high) settings, rate increasing
    integer: bool = True

    def encode(self, image: np.ndarray, setting: float) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> np.ndarray:
        raise NotImplementedError

    @property
    def cache_key(self) -> str:
        """Changes whenever results would change (library or model version, options)."""
        return self.name


class ImagecodecsCodec(BenchCodec):
    def __init__(self, name, description, sweep, knob, encode, decode, integer=True):
        super().__init__(name, description, tuple(sweep), knob, integer)
        self._encode, self._decode = encode, decode

    def encode(self, image, setting):
        return bytes(self._encode(image, int(round(setting)) if self.integer else float(setting)))

    def decode(self, data):
        return np.asarray(self._decode(data))

    @property
    def cache_key(self):
        import imagecodecs

        return f"{self.description}|imagecodecs {imagecodecs.__version__}"


def classical(name: str, avif_speed: int = 6) -> BenchCodec:
    """JPEG (libjpeg-turbo, 4:2:0), WebP, JPEG 2000 (OpenJPEG; knob = target PSNR in dB),
    AVIF (libavif + aom, 4:4:4) and JPEG XL (libjxl, effort 7)."""
    import imagecodecs as ic

    if name == "jpeg":
        return ImagecodecsCodec("jpeg", "JPEG libjpeg-turbo 4:2:0", (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95),
                                (1, 100), lambda im, q: ic.jpeg8_encode(im, level=q, subsampling="420"),
                                ic.jpeg8_decode)
    if name == "webp":
        return ImagecodecsCodec("webp", "WebP libwebp lossy", (0, 5, 10, 20, 30, 50, 70, 80, 90, 95), (0, 100),
                                lambda im, q: ic.webp_encode(im, level=q, lossless=False), ic.webp_decode)
    if name == "jpeg2000":
        return ImagecodecsCodec("jpeg2000", "JPEG 2000 OpenJPEG (knob: target PSNR dB)",
                                (24, 26, 28, 30, 32, 34, 36, 38, 40, 42), (18.0, 55.0),
                                lambda im, q: ic.jpeg2k_encode(im, level=q), ic.jpeg2k_decode, integer=False)
    if name == "avif":
        return ImagecodecsCodec("avif", f"AVIF libavif+aom 4:4:4 speed {avif_speed}",
                                (5, 15, 25, 35, 45, 55, 65, 75, 85, 90), (0, 100),
                                lambda im, q: ic.avif_encode(im, level=q, speed=avif_speed, pixelformat="444",
                                                             codec="aom", numthreads=1), ic.avif_decode)
    if name == "jpegxl":
        return ImagecodecsCodec("jpegxl", "JPEG XL libjxl effort 7", (5, 15, 25, 35, 50, 65, 80, 90, 95), (0, 100),
                                lambda im, q: ic.jpegxl_encode(im, level=q, effort=7, numthreads=1),
                                ic.jpegxl_decode)
    raise ValueError(f"unknown codec {name!r}")


class TilecodecModel(BenchCodec):
    """A bundled tilecodec model, measured on real .tlc files.

    ``patch=None`` codes whole images; otherwise overlapping patches of that size.
    ``refine``: steps of encoder-side latent refinement (``tilecodec.refine``).
    """

    def __init__(self, model: str, patch: int | None = None, overlap: int | None = None, refine: int = 0):
        from .. import zoo
        from ..api import DEFAULT_OVERLAP, DEFAULT_PATCH

        e = zoo.entry(model)
        self.model, self.short_hash = model, e.short_hash
        self.patch = DEFAULT_PATCH if patch is None else (None if patch == 0 else patch)
        self.overlap = DEFAULT_OVERLAP if overlap is None else overlap
        self.refine = refine
        suffix = "" if patch is None and overlap is None else (
            "@whole" if self.patch is None else f"@p{self.patch}n{self.overlap}")
        suffix += f"+r{refine}" if refine else ""
        layout = "whole image" if self.patch is None else f"patches {self.patch} px, overlap {self.overlap}"
        layout += f", {refine} refinement steps" if refine else ""
        super().__init__(f"tilecodec-{model}{suffix}", f"tilecodec {model} ({e.architecture}), {layout}",
                         (0, 10, 20, 35, 50, 65, 80, 100), (0.0, 100.0), integer=False)

    def _codec(self):
        from ..api import load

        return load(self.model)

    def encode(self, image, setting):
        return self._codec().compress(image, quality=float(setting), patch=self.patch, overlap=self.overlap,
                                      refine=self.refine)

    def decode(self, data):
        return self._codec().decompress(data)

    @property
    def cache_key(self):
        from ..container import FORMAT_VERSION
        from ..numerics import default_precision

        # bf16 transforms shift PSNR by up to ~0.06 dB: their points never mix with float32 ones
        numerics = "|bf16" if default_precision() == "bf16" else ""
        refined = f"|refine {self.refine}" if self.refine else ""
        return f"{self.name}|{self.short_hash}|format {FORMAT_VERSION}|{self.patch}|{self.overlap}{refined}{numerics}"


def get_codec(name: str, avif_speed: int = 6) -> BenchCodec:
    """``jpeg``, ``webp``, ``jpeg2000``, ``avif``, ``jpegxl`` or ``tilecodec-MODEL`` with an
    optional layout, ``@whole`` (no patches) or ``@pPnN`` (patch P, overlap N), then
    optionally ``+rS`` (S steps of latent refinement), e.g. ``tilecodec-ckbd-mse+r30``."""
    if name.startswith("tilecodec-"):
        m = re.fullmatch(r"tilecodec-([^@+]+)(?:@([^+]*))?(?:\+r(\d+))?", name)
        if not m:
            raise ValueError(f"unknown tilecodec codec {name!r}: use tilecodec-MODEL[@whole|@pPnN][+rSTEPS]")
        model, layout, refine = m[1], m[2], int(m[3] or 0)
        if layout is None:
            return TilecodecModel(model, refine=refine)
        if layout == "whole":
            return TilecodecModel(model, patch=0, overlap=0, refine=refine)
        lm = re.fullmatch(r"p(\d+)n(\d+)", layout)
        if not lm:
            raise ValueError(f"unknown tilecodec layout {layout!r}: use @whole or @pPnN, e.g. @p512n16")
        return TilecodecModel(model, patch=int(lm[1]), overlap=int(lm[2]), refine=refine)
    return classical(name, avif_speed)


def default_codecs() -> list[str]:
    """Every tilecodec model but the companion packages' research baselines (name those to
    bench them), then every classical codec."""
    from .. import zoo

    return [f"tilecodec-{m}" for m, e in sorted(zoo.registry().items()) if not e.companion] + list(CLASSICAL)
