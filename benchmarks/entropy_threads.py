"""Encode/decode seconds at 768x512 with the entropy path of several patches side by side
(the default) against one patch after another, and with the hyper-synthesis deconvs as
subpixel convs (the default) against plain transposed convs. The variants alternate in one
process, so a slow spell of the machine hits all of them alike.

    python benchmarks/entropy_threads.py      # writes benchmarks/results/entropy_threads.md
"""

import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import tilecodec
from tilecodec import fixed_point
from tilecodec.layers.conv import subpixel_deconv
from tilecodec.models import base

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 10


def sequential(fn, items):
    return [fn(item) for item in items]


def plain(x, layer):
    return layer(x)


VARIANTS = {  # name -> (entropy map, how the hyper-synthesis runs a stride-2 deconv)
    "side by side, subpixel (default)": (base.entropy_map, subpixel_deconv),
    "side by side, transposed conv": (base.entropy_map, plain),
    "one after another, subpixel": (sequential, subpixel_deconv),
    "one after another, transposed conv (before)": (sequential, plain),
}


def main() -> None:
    torch.set_num_threads(2)
    img = np.asarray(Image.open(ROOT.parent / "shared/data/eval/wiki-001.png").convert("RGB"))[:512, :768]
    codec = tilecodec.load()
    times = {name: ([], []) for name in VARIANTS}
    for r in range(REPEAT + 1):
        for name, (mapper, runner) in VARIANTS.items():
            base.entropy_map, fixed_point.subpixel_deconv = mapper, runner
            t = time.perf_counter()
            data = codec.compress(img, quality=75, patch=256, overlap=8)
            enc = time.perf_counter() - t
            t = time.perf_counter()
            codec.decompress(data)
            dec = time.perf_counter() - t
            if r:  # the first round warms up
                times[name][0].append(enc)
                times[name][1].append(dec)
    lines = ["`python benchmarks/entropy_threads.py`", "",
             f"768x512 crop of wiki-001.png, quality 75, patches 256/8 (12 patches), 2 threads, model "
             f"{codec.name} ({codec.entry.short_hash}); {REPEAT} alternating rounds.", "",
             "| entropy path of patches, hyper-synthesis | encode s (best / median) | decode s (best / median) |",
             "|---|---|---|"]
    for name, (enc, dec) in times.items():
        lines.append(f"| {name} | {min(enc):.3f} / {statistics.median(enc):.3f} "
                     f"| {min(dec):.3f} / {statistics.median(dec):.3f} |")
    out = ROOT / "benchmarks/results/entropy_threads.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
