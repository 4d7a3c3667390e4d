"""The thesis's variational patch codec study (Figures 5.13 to 5.20) on tilecodec's eval photos.

    python experiments/vae_intra/evaluate.py MODELS [--photos 8] > experiments/vae_intra/results.md
        # MODELS: the folder make_models.py wrote; also results.json and the figures here
    python experiments/vae_intra/evaluate.py MODELS --plot   # redraw the figures from results.json
    python experiments/vae_intra/evaluate.py MODELS --add NAME   # one more model into results.json
    python experiments/vae_intra/evaluate.py MODELS --add recurrent   # the bundled recurrent codec

Photos: the 768x512 centre crop (the Kodak size the thesis used) of the first ``--photos``
of ../shared/data/eval. Every patch codec codes each photo whole (``patch=None``: its blocks
predict across the whole picture) at its 8 trained rate levels (qualities 0, 100/7, ..., 100),
with real files; JPEG (libjpeg-turbo 4:2:0) and JPEG 2000 (OpenJPEG) over their bench sweeps;
``ckbd-mse`` (the bundled default) at qualities 0 to 100 for scale. The recurrent progressive
codec (``--add recurrent``, the bundled model) codes each photo once with all its iterations
and is measured at 1, 2, 4, 8, 12 and 16 of them, the file cut by ``tilecodec.truncate``
(setting = iterations; its encode seconds are the whole file's at every setting). Metrics per photo: bpp,
PSNR of luma (BT.601 Y'), MS-SSIM (RGB); curves are means over photos at each setting.
Encode and decode seconds are the mean per photo at each setting, one thread.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import tilecodec
from tilecodec.bench.codecs import classical
from tilecodec.images import load_image
from tilecodec.metrics import ms_ssim, psnr_y
from tilecodec.numerics import cpu_name

HERE = Path(__file__).parent
EVAL = HERE.parents[2] / "shared" / "data" / "eval"
PATCH_CODECS = ("patch-vae", "patch-vae-pretrained-intra", "patch-vae-embedded-intra-open",
                "patch-vae-embedded-intra", "patch-vae-embedded-intra-modes")
LATER = ("patch-vae-embedded-intra-hyper",)  # added with --add
LOWRATE = ("patch-vae-lowrate", "patch-vae-pretrained-intra-lowrate", "patch-vae-embedded-intra-lowrate",
           "patch-vae-embedded-intra-lowrate-modes")  # lowrate.sh's codecs, added with --add
LEVELS = tuple(round(100 * k / 7, 4) for k in range(8))
ITERATIONS = (1, 2, 4, 8, 12, 16)


def crop(array: np.ndarray, height: int = 512, width: int = 768) -> np.ndarray:
    h, w = array.shape[:2]
    if h > w:  # portrait photos: a 512x768 crop
        height, width = width, height
    y, x = (h - height) // 2, (w - width) // 2
    return np.ascontiguousarray(array[y: y + height, x: x + width])


def measure(encode, decode, photos, settings) -> list[dict]:
    points = []
    for setting in settings:
        rows = []
        for image in photos:
            t0 = time.perf_counter()
            data = encode(image, setting)
            t1 = time.perf_counter()
            out = decode(data)
            t2 = time.perf_counter()
            rows.append((8 * len(data) / (image.shape[0] * image.shape[1]), psnr_y(image, out), ms_ssim(image, out),
                         t1 - t0, t2 - t1))
        m = np.mean(rows, axis=0)
        points.append({"setting": setting, "bpp": m[0], "psnr_y": m[1], "ms_ssim": m[2], "encode_s": m[3],
                       "decode_s": m[4]})
        print(f"  {setting}: {m[0]:.3f} bpp, {m[1]:.2f} dB", file=sys.stderr, flush=True)
    return points


def measure_progressive(codec, photos, iterations=ITERATIONS) -> list[dict]:
    """``measure`` for a progressive codec: one file per photo with every iteration, cut to each
    count in ``iterations`` (the encode seconds are the whole file's)."""
    files, encode_s = [], []
    for image in photos:
        t0 = time.perf_counter()
        files.append(codec.compress(image, quality=100, patch=None))
        encode_s.append(time.perf_counter() - t0)
    points = []
    for k in iterations:
        rows = []
        for image, full, seconds in zip(photos, files, encode_s):
            data = tilecodec.truncate(full, k)
            t0 = time.perf_counter()
            out = codec.decompress(data)
            rows.append((8 * len(data) / (image.shape[0] * image.shape[1]), psnr_y(image, out), ms_ssim(image, out),
                         seconds, time.perf_counter() - t0))
        m = np.mean(rows, axis=0)
        points.append({"setting": k, "bpp": m[0], "psnr_y": m[1], "ms_ssim": m[2], "encode_s": m[3],
                       "decode_s": m[4]})
        print(f"  {k} iterations: {m[0]:.3f} bpp, {m[1]:.2f} dB", file=sys.stderr, flush=True)
    return points


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", type=Path)
    p.add_argument("--photos", type=int, default=8)
    p.add_argument("--plot", action="store_true", help="only redraw the figures from results.json")
    p.add_argument("--add", metavar="NAME", help="measure only the model NAME from MODELS and add it to results.json")
    args = p.parse_args()
    if args.plot:
        plot(json.loads((HERE / "results.json").read_text()))
        return 0
    torch.set_num_threads(1)
    photos = [crop(load_image(f)) for f in sorted(EVAL.glob("*.png"))[: args.photos]]
    if args.add:
        if args.add == "recurrent":
            points = measure_progressive(tilecodec.load("recurrent"), photos)
        else:
            codec = tilecodec.load(str(args.models / f"{args.add}.safetensors"))
            points = measure(lambda im, q: codec.compress(im, quality=q, patch=None), codec.decompress, photos, LEVELS)
        curves = json.loads((HERE / "results.json").read_text())  # read now: other --add runs may have written
        curves[args.add] = points
        (HERE / "results.json").write_text(json.dumps(curves, indent=1) + "\n")
        plot(curves)
        return 0
    curves = {}
    for name in PATCH_CODECS:
        codec = tilecodec.load(str(args.models / f"{name}.safetensors"))
        print(name, file=sys.stderr)
        curves[name] = measure(lambda im, q: codec.compress(im, quality=q, patch=None), codec.decompress, photos, LEVELS)
    default = tilecodec.load()
    print("ckbd-mse", file=sys.stderr)
    curves["ckbd-mse"] = measure(lambda im, q: default.compress(im, quality=q, patch=None), default.decompress,
                                 photos, (0, 12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100))
    for name in ("jpeg", "jpeg2000"):
        c = classical(name)
        print(name, file=sys.stderr)
        curves[name] = measure(c.encode, c.decode, photos, c.sweep)
    (HERE / "results.json").write_text(json.dumps(curves, indent=1) + "\n")
    print(f"`python experiments/vae_intra/evaluate.py {' '.join(sys.argv[1:])}`\n")
    print(f"{len(photos)} eval photos, 768x512 centre crops; {cpu_name()}, one thread. Means per setting.\n")
    for name, points in curves.items():
        print(f"### {name}\n\n| setting | bpp | PSNR-Y dB | MS-SSIM | encode s | decode s |\n|---|---|---|---|---|---|")
        for q in points:
            print(f"| {q['setting']:g} | {q['bpp']:.4f} | {q['psnr_y']:.2f} | {q['ms_ssim']:.4f} | "
                  f"{q['encode_s']:.2f} | {q['decode_s']:.2f} |")
        print()
    plot(curves)
    return 0


def plot(curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    groups = {
        "variational": PATCH_CODECS + tuple(n for n in LATER if n in curves),
        "final": ("patch-vae", "patch-vae-embedded-intra", "patch-vae-embedded-intra-modes")
        + tuple(n for n in ("recurrent",) if n in curves) + ("ckbd-mse", "jpeg", "jpeg2000"),
        "lowrate": tuple(n for n in LOWRATE if n in curves) + ("patch-vae", "patch-vae-embedded-intra", "jpeg"),
    }
    for group, names in groups.items():
        if group == "lowrate" and not any(n in curves for n in LOWRATE):
            continue
        for metric, label in (("psnr_y", "PSNR-Y (dB)"), ("ms_ssim", "MS-SSIM")):
            fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
            for ax, scale in zip(axes, ("linear", "log")):
                for name in names:
                    pts = curves[name]
                    ax.plot([q["bpp"] for q in pts], [q[metric] for q in pts], "o-", ms=3, label=name)
                ax.set_xscale(scale)
                if scale == "log":
                    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
                    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
                    ax.set_xticks([0.02, 0.05, 0.1, 0.2, 0.5, 1] if group == "lowrate" else [0.1, 0.2, 0.5, 1, 2, 4])
                ax.set_xlabel("bits per pixel" + (" (log)" if scale == "log" else ""))
                ax.set_ylabel(label)
                ax.grid(True, alpha=0.3)
            axes[0].set_xlim(0, 0.5 if group == "lowrate" else 2.0)
            if group == "lowrate":
                axes[1].set_xlim(0.02, 1.0)
            axes[0].legend(fontsize=8)
            fig.suptitle(f"{group}: {label} against rate, 768x512 eval crops")
            fig.tight_layout()
            fig.savefig(HERE / f"{group}-{metric}.png", dpi=90)
            plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
