"""Pack a training subset small enough to travel to a lent GPU machine (64 MiB per call,
the repository included): each photo of ../shared/data/train downscaled by 0.7 (short side
kept >= 256 px), re-encoded as JPEG quality 90 4:4:4, then a seeded random subset up to 23 MiB.

    python experiments/gpu_training/pack.py .gpudata/train   # an ignored folder, carried by the device tool
"""

import random
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "data" / "train"
SCALE, QUALITY, BUDGET = 0.7, 90, 23 * 2**20


def main(dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        packed = []
        for p in sorted(SOURCE.rglob("*")):
            if p.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
                continue
            with Image.open(p) as im:
                im = im.convert("RGB")
                s = max(SCALE, 256 / min(im.size))
                if s < 1:
                    im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
                out = Path(tmp) / f"{p.parent.name}-{p.stem}.jpg"
                im.save(out, quality=QUALITY, subsampling=0)
                packed.append(out)
        packed.sort()
        random.Random(0).shuffle(packed)
        total = n = 0
        for f in packed:
            size = f.stat().st_size
            if total + size <= BUDGET:
                f.replace(dst / f.name)
                total, n = total + size, n + 1
    print(f"{n} photos, {total / 2**20:.1f} MiB in {dst}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
