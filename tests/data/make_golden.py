"""Writes the golden files of the current format: ``python tests/data/make_golden.py [NAME ...]``
(default: every case).

Each golden file is a crop of the bundled sample coded by a bundled model, and the PNG its
decoder gave when it was made. Tests decode the file and compare (readers keep every older
format version: these files are never remade for a new version, only added to).
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image

import tilecodec
from tilecodec.demo import SAMPLE

HERE = Path(__file__).parent
CASES = {  # name: (model, crop box (x, y, w, h), grayscale, options)
    "ckbd-mse": ("ckbd-mse", (40, 60, 192, 128), False, {"quality": 60}),
    "msh-mse-fast": ("msh-mse-fast", (240, 120, 192, 128), False, {"quality": 30, "patch": 64, "overlap": 8}),
    "ckbd-mse-gray": ("ckbd-mse", (300, 10, 130, 70), True, {"quality": 85}),
    "ckbd-mse-cells": ("ckbd-mse", (100, 200, 200, 150), False, {"quality": 40, "patch": 96, "overlap": 16}),
    "ckbd-mse-cells64": ("ckbd-mse", (100, 100, 300, 200), False, {"quality": 50, "patch": 128, "overlap": 8}),
}


def main(names: list[str]) -> None:
    photo = Image.open(SAMPLE).convert("RGB")
    for name in names or CASES:
        model, (x, y, w, h), gray, options = CASES[name]
        crop = photo.crop((x, y, x + w, y + h))
        image = np.asarray(crop.convert("L") if gray else crop)
        codec = tilecodec.load(model)
        data = codec.compress(image, **options)
        version = tilecodec.info(data).version
        (HERE / f"{name}-v{version}.tlc").write_bytes(data)
        Image.fromarray(codec.decompress(data)).save(HERE / f"{name}-v{version}.png")
        print(name, version, len(data), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
