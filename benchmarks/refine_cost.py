"""What latent refinement (``refine=``) costs with the default model: encode seconds of a
768x512 photo, plain and refined (turns alternate), and peak memory (max RSS of a fresh
process) coding random-pixel images plain and refined.

    python benchmarks/refine_cost.py [--runs 3]     # writes benchmarks/results/refine_cost.md
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MEMORY_CASES = [(1024, 1024, 0), (1024, 1024, 1), (2048, 1024, 1), (1024, 512, 1)]  # side, patch, refine steps


def peak_mb(side: int, patch: int, refine: int) -> float:
    """Max RSS (MB) of a fresh process that codes a side x side random image."""
    code = ("import resource, numpy as np, tilecodec\n"
            f"a = (np.random.default_rng(0).random(({side}, {side}, 3)) * 255).astype(np.uint8)\n"
            f"tilecodec.load().compress(a, quality=50, patch={patch}, refine={refine})\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--image", default=str(ROOT.parent / "shared" / "data" / "eval" / "wiki-001.png"))
    args = p.parse_args()

    import torch

    import tilecodec

    torch.set_num_threads(2)
    codec = tilecodec.load()
    img = np.ascontiguousarray(np.asarray(Image.open(args.image).convert("RGB"))[:512, :768])
    codec.compress(img, quality=75)  # warm-up
    times = {0: [], args.steps: []}
    for _ in range(args.runs):
        for steps in times:
            t = time.perf_counter()
            codec.compress(img, quality=75, refine=steps)
            times[steps].append(time.perf_counter() - t)
    lines = ["`python benchmarks/refine_cost.py`", "",
             f"Model {codec.name}, 768x512 crop of {Path(args.image).name}, quality 75, 2 threads, "
             f"{args.runs} runs each, taking turns, torch {torch.__version__}.", "",
             "| encoder | best s | median s |", "|---|---|---|"]
    for steps, ts in times.items():
        lines.append(f"| {'plain' if steps == 0 else f'refine={steps}'} | {min(ts):.2f} | {statistics.median(ts):.2f} |")
    per_step = (statistics.median(times[args.steps]) - statistics.median(times[0])) / args.steps
    lines += ["", f"About {per_step:.2f} s per refinement step (median difference / {args.steps}).", "",
              "Peak memory (max RSS of a fresh process, random pixels, quality 50, default 1 GB budget):", "",
              "| image | patch | refine steps | peak MB |", "|---|---|---|---|"]
    for side, patch, refine in MEMORY_CASES:
        lines.append(f"| {side}x{side} | {patch} | {refine} | {peak_mb(side, patch, refine):.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "results" / "refine_cost.md").write_text(text)


if __name__ == "__main__":
    main()
