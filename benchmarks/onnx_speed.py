"""onnxruntime against PyTorch: speed and pixel agreement of the exported transforms.

    python benchmarks/onnx_speed.py > benchmarks/results/onnx_speed.md

For each model, exports the transforms (``tilecodec export-onnx``), then on 768x512 crops of
5 eval photos at quality 75: best-of-5 encode and decode time of the PyTorch codec (in its
load-time precision, and in float32) and of the codec whose transforms run in onnxruntime
(same thread count), the largest pixel difference between decoding one file with each, and
the size change of the files ONNX codes. Run with nothing else on the cores.
"""

import argparse
import glob
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import tilecodec
from tilecodec import deploy
from tilecodec.numerics import cpu_name, default_precision

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


def best(fn, runs):
    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times[1:])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="+", default=["ckbd-mse", "msh-mse-fast"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    photos = [np.ascontiguousarray(np.asarray(tilecodec.images.load_image(f))[:512, :768])
              for f in sorted(glob.glob(str(EVAL / "*.png")))[:25:6]]
    print(f"`python benchmarks/onnx_speed.py`\n\n768x512 crops of {len(photos)} eval photos, quality 75, "
          f"{args.threads} threads, best of {args.runs} per photo, mean over photos; {cpu_name()}, torch "
          f"{torch.__version__}, onnxruntime {__import__('onnxruntime').__version__}. PyTorch's load-time "
          f"precision here: {default_precision()}.\n")
    print("| model | runtime | encode s | decode s | max pixel diff vs PyTorch float32 | bytes vs PyTorch |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        folder = tempfile.mkdtemp()
        deploy.export_onnx(name, folder)
        fast = tilecodec.load(name, shared=False)
        f32 = tilecodec.load(name, shared=False)
        f32.model.precision = "float32"
        onnx = deploy.load_onnx(folder, threads=args.threads)
        rows = {}
        for label, codec in ((f"PyTorch {fast.model.precision}", fast), ("PyTorch float32", f32), ("onnxruntime", onnx)):
            enc = dec = 0.0
            diff, ratio = 0, []
            for a in photos:
                data = codec.compress(a, quality=75)
                enc += best(lambda: codec.compress(a, quality=75), args.runs)
                dec += best(lambda: codec.decompress(data), args.runs)
                reference = f32.compress(a, quality=75)
                diff = max(diff, int(np.abs(codec.decompress(reference).astype(int) - f32.decompress(reference)).max()))
                ratio.append(len(data) / len(reference) - 1)
            rows[label] = (enc / len(photos), dec / len(photos), diff, float(np.mean(ratio)))
        for label, (enc, dec, diff, ratio) in rows.items():
            print(f"| {name} | {label} | {enc:.3f} | {dec:.3f} | {diff} | {ratio:+.3%} |", flush=True)
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))


if __name__ == "__main__":
    main()
