"""A model (the default unless --model) on the eval set: mean bpp / PSNR per quality, estimated-vs-actual rate,
encode/decode seconds, JPEG at the same bpp, and the 768x512 speed target.

    python benchmarks/codec_eval.py            # writes benchmarks/results/codec_eval.{json,md}
    python benchmarks/codec_eval.py --model msh-mse-fast --out benchmarks/results/codec_eval-msh-mse-fast

Everything is measured on real files (bytes of the .tlc output); the estimate column is
the model's own rate estimate (sum of -log2 likelihoods of the coded symbols, over the
same patches as the file), so the gap is what the file format and the range coder add.
"""

import argparse
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import tilecodec
from tilecodec.api import DEFAULT_OVERLAP, DEFAULT_PATCH
from tilecodec.images import to_tensor
from tilecodec.metrics import psnr

ROOT = Path(__file__).resolve().parents[1]


def estimated_bits(codec, array, quality) -> float:
    """The model's rate estimate for the symbols the file codes at ``quality``: summed over
    the same patches as the file (the whole image when it is one patch)."""
    array, quality, grid, _ = codec.plan(array, quality, DEFAULT_PATCH, DEFAULT_OVERLAP)
    rate = codec.model.rate_control.point(quality)
    boxes = [(p.y0, p.y1, p.x0, p.x1) for p in grid.patches] if grid else [(0, array.shape[0], 0, array.shape[1])]
    bits = 0.0
    with torch.no_grad():
        for y0, y1, x0, x1 in boxes:
            y = codec.model.latent(to_tensor(array[y0:y1, x0:x1], codec.model.size_multiple), rate)
            bits += codec.model.latent_codec.estimate_bits(y, rate)
    return bits


SPEED_RUNS = 9


def timed(f, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return out, best


def jpeg(array, quality):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=quality)
    return buf.tell(), np.asarray(Image.open(buf).convert("RGB"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "eval"))
    p.add_argument("--model", default=None)
    p.add_argument("--qualities", type=float, nargs="+", default=[0, 15, 30, 50, 65, 80, 100])
    p.add_argument("--jpeg-qualities", type=int, nargs="+", default=[5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "codec_eval"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    codec = tilecodec.load(args.model)
    files = sorted(Path(args.data).glob("*.png"))
    rows = {q: [] for q in args.qualities}
    jrows = {q: [] for q in args.jpeg_qualities}
    for i, f in enumerate(files):
        img = np.asarray(Image.open(f).convert("RGB"))
        px = img.shape[0] * img.shape[1]
        for q in args.qualities:
            data, enc = timed(lambda: codec.compress(img, quality=q))
            out, dec = timed(lambda: codec.decompress(data))
            est = estimated_bits(codec, img, q)
            rows[q].append(dict(bpp=8 * len(data) / px, psnr=psnr(img, out), est_bpp=est / px,
                                encode_s=enc, decode_s=dec))
        for q in args.jpeg_qualities:
            size, out = jpeg(img, q)
            jrows[q].append(dict(bpp=8 * size / px, psnr=psnr(img, out)))
        print(f"[{i + 1}/{len(files)}] {f.name}", file=sys.stderr)

    def mean(rs, k):
        return statistics.fmean(r[k] for r in rs)

    curve = [dict(quality=q, bpp=mean(rs, "bpp"), psnr=mean(rs, "psnr"), est_bpp=mean(rs, "est_bpp"),
                  encode_s=mean(rs, "encode_s"), decode_s=mean(rs, "decode_s")) for q, rs in rows.items()]
    jcurve = [dict(quality=q, bpp=mean(rs, "bpp"), psnr=mean(rs, "psnr")) for q, rs in jrows.items()]
    jb, jp = [c["bpp"] for c in jcurve], [c["psnr"] for c in jcurve]
    for c in curve:
        c["rate_gap_pct"] = 100 * (c["bpp"] / c["est_bpp"] - 1)
        inside = jb[0] <= c["bpp"] <= jb[-1]
        c["jpeg_psnr_same_bpp"] = float(np.interp(c["bpp"], jb, jp)) if inside else None
        # JPEG's bpp for the same PSNR (log-linear interpolation of its curve)
        c["jpeg_bpp_same_psnr"] = float(np.exp(np.interp(c["psnr"], jp, np.log(jb)))) if jp[0] <= c["psnr"] <= jp[-1] else None

    # speed target: a 768x512 photo; default patches (one patch at this size) and 256-px patches
    img = np.ascontiguousarray(np.asarray(Image.open(files[0]).convert("RGB"))[:512, :768])
    speed = dict(image="768x512 crop of " + files[0].name, threads=args.threads, runs=SPEED_RUNS)
    for layout, patch in (("default", DEFAULT_PATCH), ("patch256", 256)):
        data = codec.compress(img, quality=75, patch=patch)
        codec.decompress(data)  # warm-up
        enc = [timed(lambda: codec.compress(img, quality=75, patch=patch))[1] for _ in range(SPEED_RUNS)]
        dec = [timed(lambda: codec.decompress(data))[1] for _ in range(SPEED_RUNS)]
        speed[layout] = dict(patch=patch, encode_best_s=min(enc), encode_median_s=float(np.median(enc)),
                             decode_best_s=min(dec), decode_median_s=float(np.median(dec)))

    result = dict(model=codec.name, model_hash=codec.entry.short_hash, images=len(files), data=str(args.data),
                  torch=torch.__version__, machine=platform.processor() or platform.machine(),
                  tilecodec=curve, jpeg_pillow=jcurve, speed_768x512=speed)
    lines = [f"Model `{codec.name}` ({codec.entry.short_hash}) on {len(files)} images of `{Path(args.data).name}/`, "
             f"{args.threads} threads, torch {torch.__version__}.", "",
             "| quality | bpp | PSNR dB | estimated bpp | rate gap | JPEG PSNR at same bpp | JPEG bpp at same PSNR "
             "| encode s | decode s |", "|---|---|---|---|---|---|---|---|---|"]
    for c in curve:
        jps = f"{c['jpeg_psnr_same_bpp']:.2f}" if c["jpeg_psnr_same_bpp"] is not None else "out of range"
        jbs = f"{c['jpeg_bpp_same_psnr']:.3f}" if c["jpeg_bpp_same_psnr"] is not None else "out of range"
        lines.append(f"| {c['quality']:g} | {c['bpp']:.3f} | {c['psnr']:.2f} | {c['est_bpp']:.3f} | "
                     f"{c['rate_gap_pct']:+.2f}% | {jps} | {jbs} | {c['encode_s']:.2f} | {c['decode_s']:.2f} |")
    lines += ["", "JPEG (Pillow/libjpeg, 4:2:0): " + ", ".join(f"q{c['quality']} {c['bpp']:.3f} bpp {c['psnr']:.2f} dB"
                                                         for c in jcurve),
              "", f"Speed, {speed['image']}, quality 75, {args.threads} threads, best / median of {SPEED_RUNS}: "
              + "; ".join(f"{'default patches (' + str(v['patch']) + ')' if k == 'default' else str(v['patch']) + '-px patches'}: "
                          f"encode {v['encode_best_s']:.3f} / {v['encode_median_s']:.3f} s, "
                          f"decode {v['decode_best_s']:.3f} / {v['decode_median_s']:.3f} s"
                          for k, v in speed.items() if isinstance(v, dict)) + "."]
    text = "\n".join(lines)
    print(text)
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    command = " ".join(["python", f"benchmarks/{Path(__file__).name}", *sys.argv[1:]])
    Path(args.out + ".md").write_text(f"`{command}`\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
