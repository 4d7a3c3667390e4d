"""Held-out check of a campaign checkpoint against the bundled model, as the training's own
evaluation does it: real bitstreams on the first 4 eval photos, at the same rate levels.

    python experiments/campaign/heldout.py CANDIDATE.safetensors

The campaign model has 11 levels (quality q is level q / 10), the bundled one 9 (level l is
quality 12.5 l): both are coded at levels 0, 3.3, 6.7 and, for the candidate, 10; the bundled
model's top is level 8. Prints mean bpp and PSNR-RGB per level. Monitoring only: the
replacement decision is ``compare.py``'s, on all 25 photos.
"""

import glob
import sys
from pathlib import Path

import numpy as np

import tilecodec
from tilecodec.images import load_image
from tilecodec.metrics import psnr

EVAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "eval"


def curve(codec, qualities, photos):
    out = []
    for q in qualities:
        bpp, db = [], []
        for a in photos:
            data = codec.compress(a, quality=q)
            bpp.append(8 * len(data) / (a.shape[0] * a.shape[1]))
            db.append(psnr(a, codec.decompress(data)))
        out.append((float(np.mean(bpp)), float(np.mean(db))))
    return out


def main() -> None:
    photos = [load_image(f) for f in sorted(glob.glob(str(EVAL / "*.png")))[:4]]
    candidate = tilecodec.load(sys.argv[1])
    bundled = tilecodec.load("ckbd-mse")
    levels = (0, 3.3, 6.7)
    mine = curve(candidate, [10 * level for level in levels] + [100], photos)
    theirs = curve(bundled, [12.5 * level for level in levels] + [100], photos)
    print("| level | campaign bpp | campaign PSNR | bundled bpp | bundled PSNR |")
    print("|---|---|---|---|---|")
    for level, (b1, p1), (b0, p0) in zip([*levels, "top (10 / 8)"], mine, theirs):
        print(f"| {level} | {b1:.4f} | {p1:.2f} | {b0:.4f} | {p0:.2f} |")


if __name__ == "__main__":
    main()
