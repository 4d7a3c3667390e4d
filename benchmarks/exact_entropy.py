"""Format 4's exact fixed-point entropy path (``tilecodec.fixed_point``) against format 3's
plain float64 one, on eval photos: total bytes and mean PSNR at qualities 0, 50 and 100
(default layout), how close any layer's input came to its clamp bound (a clamp that binds
changes the prediction; it must not on real images), and the decode time of a 768x512 crop
both ways (alternating runs, 2 threads).

    python benchmarks/exact_entropy.py [--images N]   # writes benchmarks/results/exact_entropy.md
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import tilecodec
from tilecodec import fixed_point
from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.models.base import CompressionModel

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared/data/eval"
QUALITIES = (0, 50, 100)
MODELS = ("ckbd-mse", "msh-mse-fast")
TIMING_RUNS = 9


def use_path(codec, exact: bool) -> None:
    """Make ``codec`` encode and decode with the exact (format 4) or plain float64 (format 3)
    entropy path; the files still say version 4, so only this process can read the plain ones."""
    model, path = codec.model, FIXED_POINT if exact else FLOAT64
    model.compress = lambda x, quality, refine=0, _path=None: CompressionModel.compress(model, x, quality, refine, path)
    model.decompress = lambda strings, sizes, quality, _path=None: CompressionModel.decompress(
        model, strings, sizes, quality, path)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="the first N eval photos")
    args = parser.parse_args()
    torch.set_num_threads(2)
    photos = sorted(EVAL.glob("*.png"))[: args.images]
    ratios: dict[str, float] = {}
    original_clamp = fixed_point.clamp

    def clamp(x, layer):  # records the largest |input| / bound seen, per model
        ratios[current] = max(ratios.get(current, 0.0), float(x.abs().max()) / layer.input_bound)
        return original_clamp(x, layer)

    fixed_point.clamp = clamp
    rows = []
    for name in MODELS:
        current = name
        codec = tilecodec.load(name)
        for q in QUALITIES:
            stats = {True: [0, []], False: [0, []]}
            for path in photos:
                img = np.asarray(Image.open(path).convert("RGB"))
                for exact in (True, False):
                    use_path(codec, exact)
                    data = codec.compress(img, quality=q)
                    stats[exact][0] += len(data)
                    stats[exact][1].append(psnr(codec.decompress(data), img))
            (b4, p4), (b3, p3) = stats[True], stats[False]
            rows.append(f"| {name} | {q} | {b3} | {b4} | {100 * (b4 / b3 - 1):+.3f}% | "
                        f"{statistics.mean(p3):.4f} | {statistics.mean(p4):.4f} |")
    fixed_point.clamp = original_clamp

    crop = np.asarray(Image.open(photos[0]).convert("RGB"))[:512, :768]
    codec = tilecodec.load()
    times = {True: [], False: []}
    for r in range(TIMING_RUNS + 1):
        for exact in (True, False):
            use_path(codec, exact)
            data = codec.compress(crop, quality=75)
            t = time.perf_counter()
            codec.decompress(data)
            if r:  # the first round warms up
                times[exact].append(time.perf_counter() - t)

    lines = ["`python benchmarks/exact_entropy.py" + (f" --images {args.images}`" if args.images != 8 else "`"), "",
             f"{len(photos)} eval photos ({photos[0].name} to {photos[-1].name}), whole-photo default layout, "
             f"torch {torch.__version__}, 2 threads. Bytes summed over the photos; PSNR-RGB averaged.", "",
             "| model | quality | bytes, format 3 (float64) | bytes, format 4 (exact) | change | PSNR 3 | PSNR 4 |",
             "|---|---|---|---|---|---|---|", *rows, "",
             "Largest |input| / clamp bound over every exact layer and call, per model (below 1: no clamp ever changed a value):", "",
             "| model | ratio |", "|---|---|", *[f"| {k} | {v:.2e} |" for k, v in ratios.items()], "",
             f"Decode of a 768x512 crop of {photos[0].name}, quality 75, {codec.name}, {TIMING_RUNS} alternating runs:",
             "", "| entropy path | best s | median s |", "|---|---|---|",
             *[f"| {'exact (format 4)' if e else 'float64 (format 3)'} | {min(times[e]):.3f} | "
               f"{statistics.median(times[e]):.3f} |" for e in (True, False)]]
    out = ROOT / "benchmarks/results/exact_entropy.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
