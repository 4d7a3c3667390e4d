"""Encode and decode seconds of every bundled model on a 768x512 photo (the speed target:
under 0.2 s each on this 2-core CPU), default layout, quality 75, 2 threads. Models take
turns run by run, so that a slow spell of a shared machine hits all of them alike. Then the
default model's synthesis transform alone in each numeric mode (float32, float32
channels_last, bf16 channels_last), which shows whether bf16 pays on this CPU.

    python benchmarks/speed.py [--runs 15]     # writes benchmarks/results/speed.md
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import tilecodec
from tilecodec.numerics import cpu_name

ROOT = Path(__file__).resolve().parents[1]


def transform_modes(codec, img: np.ndarray, runs: int) -> dict:
    """Best seconds of the default model's synthesis body per numeric mode."""
    model = codec.model
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = model.latent(x, model.rate_control.point(75), "reference")
        body = model.synthesis[:-1]
        modes = {"float32": (y, False), "float32 channels_last": (y.contiguous(memory_format=torch.channels_last), False),
                 "bf16 channels_last": (y.contiguous(memory_format=torch.channels_last), True)}
        best = {}
        for name, (inp, bf16) in modes.items():
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    body(inp)
                times.append(time.perf_counter() - t)
            best[name] = min(times)
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--image", default=str(ROOT.parent / "shared" / "data" / "eval" / "wiki-001.png"))
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mode-runs", type=int, default=3, help="runs per numeric mode of the transform table")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "speed.md"))
    p.add_argument("--models", nargs="+", default=None, help="these models and the default one (default: all)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    img = np.ascontiguousarray(np.asarray(Image.open(args.image).convert("RGB"))[:512, :768])
    names = tilecodec.models() if args.models is None else [tilecodec.zoo.DEFAULT_MODEL, *args.models]
    codecs = {name: tilecodec.load(name) for name in dict.fromkeys(names)}
    files = {name: c.compress(img, quality=75) for name, c in codecs.items()}
    for name, c in codecs.items():
        c.decompress(files[name])  # warm-up
    times = {name: ([], []) for name in codecs}
    for _ in range(args.runs):
        for name, c in codecs.items():
            t = time.perf_counter()
            c.compress(img, quality=75)
            times[name][0].append(time.perf_counter() - t)
            t = time.perf_counter()
            c.decompress(files[name])
            times[name][1].append(time.perf_counter() - t)
    lines = [f"`python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}`".replace(" `", "`"), "",
             f"768x512 crop of {Path(args.image).name}, quality 75, default layout, {args.threads} threads, "
             f"{args.runs} runs per model taking turns, torch {torch.__version__}, "
             f"{cpu_name()} ({torch.backends.cpu.get_cpu_capability()}, "
             f"{codecs[tilecodec.zoo.DEFAULT_MODEL].model.precision} transforms).", "",
             "| model | bpp | encode best s | encode median s | decode best s | decode median s |",
             "|---|---|---|---|---|---|"]
    for name, (enc, dec) in times.items():
        bpp = 8 * len(files[name]) / (img.shape[0] * img.shape[1])
        lines.append(f"| {name} | {bpp:.3f} | {min(enc):.3f} | {statistics.median(enc):.3f} | {min(dec):.3f} | "
                     f"{statistics.median(dec):.3f} |")
    lines += ["", f"Synthesis transform of `{tilecodec.zoo.DEFAULT_MODEL}` (all layers but the last) on the "
              f"latent of this image, best of {args.mode_runs}; tilecodec uses "
              f"{codecs[tilecodec.zoo.DEFAULT_MODEL].model.precision} here:", "",
              "| numerics | seconds |", "|---|---|"]
    for mode, seconds in transform_modes(codecs[tilecodec.zoo.DEFAULT_MODEL], img, args.mode_runs).items():
        lines.append(f"| {mode} | {seconds:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
