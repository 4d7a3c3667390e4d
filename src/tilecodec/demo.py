"""The demo: code the bundled sample photo and compare with JPEG at the same PSNR."""

import io
from pathlib import Path

import numpy as np
from PIL import Image

from .api import load
from .images import load_image
from .metrics import bpp, psnr
from .search import absolute, search

SAMPLE = Path(__file__).parent / "data" / "sample.png"


def jpeg_bytes_for_psnr(array: np.ndarray, target: float) -> tuple[int, float, int] | None:
    """Smallest libjpeg (4:2:0, Pillow) file reaching ``target`` PSNR: (bytes, psnr, quality)."""
    def code(q):
        buf = io.BytesIO()
        Image.fromarray(array).save(buf, format="JPEG", quality=q)
        return buf.tell(), psnr(array, np.asarray(Image.open(buf).convert("L" if array.ndim == 2 else "RGB")))

    coded = {}

    def quality_psnr(q):
        coded[q] = code(q)
        return coded[q][1]

    trials = search(quality_psnr, 1, 100, target, absolute, 0.0, integer=True)
    reaching = [q for q, p in trials.items() if p >= target]
    return None if not reaching else (coded[min(reaching)][0], coded[min(reaching)][1], min(reaching))


def run(quality: float = 75, model: str | None = None) -> list[str]:
    """Returns the demo's report lines."""
    codec = load(model)
    array = load_image(SAMPLE)
    data = codec.compress(array, quality=quality)
    out = codec.decompress(data)
    p = psnr(array, out)
    h, w = array.shape[:2]
    lines = [f"sample photo {w}x{h}, model {codec.name}, quality {quality}",
             f"tilecodec: {len(data):7d} bytes  {bpp(len(data), array):.3f} bpp  {p:.2f} dB PSNR"]
    jpeg = jpeg_bytes_for_psnr(array, p)
    if jpeg is None:
        lines.append("JPEG:      cannot reach this PSNR at any quality")
    else:
        size, jp, q = jpeg
        lines.append(f"JPEG:      {size:7d} bytes  {bpp(size, array):.3f} bpp  {jp:.2f} dB PSNR (quality {q}), "
                     f"{size / len(data):.2f}x the size")
    return lines
