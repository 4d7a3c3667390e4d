"""The bundled recurrent progressive codec on 768x512 eval crops: one file per photo at
quality 100 (all iterations), cut with ``tilecodec.truncate`` to 1, 2, 4, 8, 12 and 16
iterations and decoded. Reports per iteration count the mean bpp, PSNR of luma, MS-SSIM, the
saving of the range-coded bits against the raw 128 bits per block and iteration, and decode
seconds; and the encode seconds of the full file. With ``--allocate``: the same photos coded
with bit allocation at qualities 0, 20, ..., 100 (one file each).

    python experiments/recurrent/progressive.py [--photos 6] > experiments/recurrent/progressive.md
    python experiments/recurrent/progressive.py --allocate [--photos 6] > experiments/recurrent/allocation.md
"""

import argparse
import sys
import time
from pathlib import Path

import zlib

import numpy as np
import torch

import tilecodec
from tilecodec import container
from tilecodec.images import load_image
from tilecodec.metrics import ms_ssim, psnr_y
from tilecodec.numerics import cpu_name

HERE = Path(__file__).parent
EVAL = HERE.parents[2] / "shared" / "data" / "eval"
KEPT = (1, 2, 4, 8, 12, 16)


def crop(array: np.ndarray, height: int = 512, width: int = 768) -> np.ndarray:
    h, w = array.shape[:2]
    if h > w:
        height, width = width, height
    y, x = (h - height) // 2, (w - width) // 2
    return np.ascontiguousarray(array[y: y + height, x: x + width])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--model", default="recurrent")
    ap.add_argument("--allocate", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    codec = tilecodec.load(args.model, shared=not args.allocate)
    photos = [crop(load_image(p)) for p in sorted(EVAL.glob("*.png"))[: args.photos]]
    if args.allocate:
        return allocation(codec, photos, args)
    rows = {k: [] for k in KEPT}
    encode_s = []
    for image in photos:
        t0 = time.perf_counter()
        full = codec.compress(image, quality=100, patch=None)
        encode_s.append(time.perf_counter() - t0)
        pixels = image.shape[0] * image.shape[1]
        for k in KEPT:
            data = tilecodec.truncate(full, k)
            t0 = time.perf_counter()
            out = codec.decompress(data)
            t1 = time.perf_counter()
            raw = k * 128 * pixels // 1024  # bits: 128 per 32x32 block and iteration
            rows[k].append((8 * len(data) / pixels, psnr_y(image, out), ms_ssim(image, out), 1 - 8 * len(data) / raw,
                            t1 - t0))
        print(f"  {len(encode_s)} photos", file=sys.stderr, flush=True)
    print(f"`python experiments/recurrent/progressive.py --photos {args.photos}`\n")
    print(f"Model `{args.model}`; the 768x512 centre crops of the first {len(photos)} eval photos, each coded once at "
          f"quality 100 and truncated; {cpu_name()}, one thread. Means over photos. The saving counts the whole "
          f"file (header and section framing included) against the raw bits.\n")
    print("| iterations | bpp | PSNR-Y dB | MS-SSIM | saving vs raw bits | decode s |\n|---|---|---|---|---|---|")
    for k in KEPT:
        m = np.mean(rows[k], axis=0)
        print(f"| {k} | {m[0]:.3f} | {m[1]:.2f} | {m[2]:.4f} | {m[3]:.1%} | {m[4]:.2f} |")
    print(f"\nEncode (all 16 iterations): {np.mean(encode_s):.2f} s per photo.")


def allocation(codec, photos, args) -> None:
    codec.model.allocate = True
    print(f"`python experiments/recurrent/progressive.py --allocate --photos {args.photos}`\n")
    print(f"Model `{args.model}` with bit allocation (thresholds by quality, delta 0.7); the 768x512 centre crops "
          f"of the first {len(photos)} eval photos; {cpu_name()}, one thread. Means over photos; iterations: the "
          f"mean per block.\n")
    print("| quality | bpp | PSNR-Y dB | MS-SSIM | iterations per block | encode s | decode s |\n|---|---|---|---|---|---|---|")
    for quality in (0, 20, 40, 60, 80, 100):
        rows = []
        for image in photos:
            t0 = time.perf_counter()
            data = codec.compress(image, quality=quality, patch=None)
            t1 = time.perf_counter()
            out = codec.decompress(data)
            t2 = time.perf_counter()
            counts = np.frombuffer(zlib.decompress(container.section(data, container.index(data)[1][0], 0)), np.uint8)
            pixels = image.shape[0] * image.shape[1]
            rows.append((8 * len(data) / pixels, psnr_y(image, out), ms_ssim(image, out), counts.mean(), t1 - t0, t2 - t1))
        m = np.mean(rows, axis=0)
        print(f"| {quality} | {m[0]:.3f} | {m[1]:.2f} | {m[2]:.4f} | {m[3]:.2f} | {m[4]:.2f} | {m[5]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
