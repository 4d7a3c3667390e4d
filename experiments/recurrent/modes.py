"""The thesis's recurrent-codec study (Figures 5.6 to 5.10) on tilecodec's eval photos: the
recurrent progressive codec without prediction, with single-mode and with multi-mode intra
prediction, and with bit allocation, beside JPEG and JPEG 2000.

    python experiments/recurrent/modes.py [--photos 6]              # every curve (one at a time
    python experiments/recurrent/modes.py --only NAME [--photos 6]  #   with --only), into modes.json
    python experiments/recurrent/modes.py --report > experiments/recurrent/modes.md   # table + figures

Photos: the 768x512 centre crops of the first ``--photos`` of ../shared/data/eval, each coded
whole (``patch=None``) with real files. Curves (``CURVES``):

- ``recurrent``, ``recurrent-single`` and ``recurrent-multimode``: one file per photo at quality
  100 (16 iterations; the multi-mode encoder picks each block's mode by its error after 16
  iterations), cut by ``tilecodec.truncate`` to 1, 2, 3, 4, 6, 8, 12 and 16 iterations (the
  encode seconds are the whole file's). ``recurrent-single`` is a user model made by
  ``make_model.py --prediction single --out runs/models`` (not bundled), found there by name.
- ``recurrent-multimode-per-rate``: files coded at 1, 2 and 4 iterations, the modes picked at
  that rate, as the thesis picks them.
- ``recurrent+BA`` and ``recurrent-multimode+BA``: bit allocation (``allocate``), one file per
  quality.
- ``jpeg`` and ``jpeg2000``: libjpeg-turbo (4:2:0) and OpenJPEG over their bench sweeps.

Per photo: bpp, PSNR of luma (BT.601) and of RGB, MS-SSIM (RGB), encode and decode seconds (one
thread); curves are means at each setting. Multi-mode files also give each mode's share of the
blocks. All three recurrent models share the same networks (``recurrent``'s): the curves differ
only by prediction and allocation.
"""

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

import tilecodec
from tilecodec import container
from tilecodec.bench.codecs import classical
from tilecodec.images import load_image
from tilecodec.metrics import ms_ssim, psnr, psnr_y
from tilecodec.models.progressive import EXTENDED, HEVC0, INPAINTING, NO_PREDICTION, quality_for
from tilecodec.numerics import cpu_name

from progressive import crop  # this folder's progressive.py: the 768x512 centre crops

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EVAL = ROOT.parent / "shared" / "data" / "eval"
RESULTS = HERE / "modes.json"
USER_MODELS = ROOT / "runs" / "models"  # where make_model.py --out put recurrent-single
KEPT = (1, 2, 3, 4, 6, 8, 12, 16)
CURVES = ("recurrent", "recurrent-single", "recurrent-multimode", "recurrent-multimode-per-rate", "recurrent+BA",
          "recurrent-multimode+BA", "jpeg", "jpeg2000")
SHARES = ("none", "inpainting", "extended", "HEVC planar", "HEVC DC", "HEVC angular")


def metrics(image, data: bytes, out, encode_s: float, decode_s: float) -> dict:
    return {"bpp": 8 * len(data) / (image.shape[0] * image.shape[1]), "psnr_y": psnr_y(image, out),
            "psnr_rgb": psnr(image, out), "ms_ssim": ms_ssim(image, out), "encode_s": encode_s, "decode_s": decode_s}


def shares(data: bytes) -> list[int]:
    """Blocks per mode class (``SHARES``) of a multi-mode file coded whole."""
    _, table = container.index(data)
    modes = np.frombuffer(zlib.decompress(container.section(data, table[1], 1)), dtype=np.uint8)
    return [int((modes == NO_PREDICTION).sum()), int((modes == INPAINTING).sum()), int((modes == EXTENDED).sum()),
            int((modes == HEVC0).sum()), int((modes == HEVC0 + 1).sum()), int((modes >= HEVC0 + 2).sum())]


def mean_points(rows: dict) -> list[dict]:
    """Per setting, the mean of each metric over photos (mode counts summed)."""
    points = []
    for setting, per_photo in rows.items():
        point = {"setting": setting}
        for key in per_photo[0]:
            if key == "modes":
                point[key] = [int(v) for v in np.sum([r[key] for r in per_photo], axis=0)]
            else:
                point[key] = float(np.mean([r[key] for r in per_photo]))
        points.append(point)
        print(f"  {setting}: {point['bpp']:.3f} bpp, {point['psnr_y']:.2f} dB", file=sys.stderr, flush=True)
    return points


def truncated(codec, photos, multi: bool) -> list[dict]:
    rows = {k: [] for k in KEPT}
    for image in photos:
        t0 = time.perf_counter()
        full = codec.compress(image, quality=100, patch=None)
        encode_s = time.perf_counter() - t0
        for k in KEPT:
            data = tilecodec.truncate(full, k)
            t0 = time.perf_counter()
            out = codec.decompress(data)
            row = metrics(image, data, out, encode_s, time.perf_counter() - t0)
            if multi:
                row["modes"] = shares(data)
            rows[k].append(row)
    return mean_points(rows)


def coded(codec, photos, qualities, multi: bool) -> list[dict]:
    rows = {}
    for q in qualities:
        rows[q] = []
        for image in photos:
            t0 = time.perf_counter()
            data = codec.compress(image, quality=q, patch=None)
            t1 = time.perf_counter()
            out = codec.decompress(data)
            row = metrics(image, data, out, t1 - t0, time.perf_counter() - t1)
            if multi:
                row["modes"] = shares(data)
            rows[q].append(row)
    return mean_points(rows)


def measure(name: str, photos) -> list[dict]:
    if name in ("jpeg", "jpeg2000"):
        c = classical(name)
        rows = {}
        for setting in c.sweep:
            rows[setting] = []
            for image in photos:
                t0 = time.perf_counter()
                data = c.encode(image, setting)
                t1 = time.perf_counter()
                rows[setting].append(metrics(image, data, c.decode(data), t1 - t0, time.perf_counter() - t1))
        return mean_points(rows)
    model = "recurrent-single" if name == "recurrent-single" else "recurrent-multimode" if "multimode" in name \
        else "recurrent"
    multi = "multimode" in name
    if name.endswith("+BA"):
        codec = tilecodec.load(model, shared=False)
        codec.model.allocate = True
        return coded(codec, photos, (0, 50, 100) if multi else (0, 25, 50, 75, 100), multi)
    if name.endswith("per-rate"):
        return coded(tilecodec.load(model), photos, [quality_for(k, 16) for k in (1, 2, 4)], multi)
    return truncated(tilecodec.load(model), photos, multi)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=6)
    p.add_argument("--only", choices=CURVES, help="measure this curve alone and add it to modes.json")
    p.add_argument("--report", action="store_true", help="print the tables and draw the figures from modes.json")
    args = p.parse_args()
    if args.report:
        report(json.loads(RESULTS.read_text()))
        return 0
    torch.set_num_threads(1)
    os.environ.setdefault("TILECODEC_MODELS", str(USER_MODELS))  # truncate finds user models by name
    photos = [crop(load_image(f)) for f in sorted(EVAL.glob("*.png"))[: args.photos]]
    for name in [args.only] if args.only else CURVES:
        print(name, file=sys.stderr, flush=True)
        points = measure(name, photos)
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}  # other runs may have written
        results[name] = {"points": points, "photos": len(photos), "cpu": cpu_name()}
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def report(results: dict) -> None:
    from tilecodec.bench.bdrate import bd_rate

    names = [n for n in CURVES if n in results]
    first = results[names[0]]
    print("`python experiments/recurrent/modes.py --report` (from `modes.json`, made by `modes.py`)\n")
    print(f"The 768x512 centre crops of the first {first['photos']} eval photos, real files, one thread, "
          f"{first['cpu']}. Means per setting (iterations, quality or the codec's own setting).\n")
    base = results["recurrent"]["points"]
    print("| curve | setting | bpp | PSNR-Y dB | PSNR-RGB dB | MS-SSIM | encode s | decode s |\n|---|---|---|---|---|---|---|---|")
    for name in names:
        for q in results[name]["points"]:
            print(f"| {name} | {q['setting']:g} | {q['bpp']:.3f} | {q['psnr_y']:.2f} | {q['psnr_rgb']:.2f} | "
                  f"{q['ms_ssim']:.4f} | {q['encode_s']:.2f} | {q['decode_s']:.2f} |")
    print("\nBD-rate against `recurrent` over the range the two curves share (PSNR-Y / PSNR-RGB / MS-SSIM; "
          "negative = fewer bits):\n\n| curve | BD-rate |\n|---|---|")
    for name in names[1:]:
        pts = results[name]["points"]
        values = [bd_rate([q["bpp"] for q in base], [q[m] for q in base], [q["bpp"] for q in pts], [q[m] for q in pts])
                  for m in ("psnr_y", "psnr_rgb", "ms_ssim")]
        print(f"| {name} | " + " / ".join("n/a" if v is None else f"{v:+.1f}%" for v in values) + " |")
    for name in ("recurrent-multimode", "recurrent-multimode-per-rate", "recurrent-multimode+BA"):
        if name not in results:
            continue
        print(f"\nMode shares of `{name}` (Figure 5.8), % of blocks:\n")
        print("| setting | " + " | ".join(SHARES) + " |\n|---|" + "---|" * len(SHARES))
        for q in results[name]["points"]:
            total = sum(q["modes"])
            print(f"| {q['setting']:g} | " + " | ".join(f"{100 * v / total:.1f}" for v in q["modes"]) + " |")
    plot(results, names)


def plot(results: dict, names: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    for metric, label in (("psnr_y", "PSNR-Y (dB)"), ("psnr_rgb", "PSNR-RGB (dB)"), ("ms_ssim", "MS-SSIM")):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for ax, scale in zip(axes, ("linear", "log")):
            for name in names:
                pts = results[name]["points"]
                ax.plot([q["bpp"] for q in pts], [q[metric] for q in pts], "o-", ms=3, label=name)
            ax.set_xscale(scale)
            if scale == "log":
                ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
                ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
                ax.set_xticks([0.1, 0.2, 0.5, 1, 2])
            ax.set_xlabel("bits per pixel" + (" (log)" if scale == "log" else ""))
            ax.set_ylabel(label)
            ax.grid(True, alpha=0.3)
        axes[0].set_xlim(0, 2.1)
        axes[1].set_xlim(0.08, 2.5)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"Recurrent codec: {label} against rate, 768x512 eval crops")
        fig.tight_layout()
        fig.savefig(HERE / f"modes-{metric}.png", dpi=90)
        plt.close(fig)
    if "recurrent-multimode" in results and "recurrent-multimode-per-rate" in results:
        # the modes as the encoder picks them at each rate: 1, 2 and 4 iterations, and 16
        bars = [(str(k), q["modes"]) for k, q in zip((1, 2, 4), results["recurrent-multimode-per-rate"]["points"])]
        bars.append(("16", results["recurrent-multimode"]["points"][-1]["modes"]))
        fig, ax = plt.subplots(figsize=(7, 4))
        bottom = np.zeros(len(bars))
        for i, label in enumerate(SHARES):
            share = np.array([100 * modes[i] / sum(modes) for _, modes in bars])
            ax.bar([k for k, _ in bars], share, bottom=bottom, label=label)
            bottom += share
        ax.set_xlabel("iterations (the encoder's rate)")
        ax.set_ylabel("% of blocks")
        ax.legend(fontsize=8, loc="lower right")
        fig.suptitle("Multi-mode recurrent codec: block modes by rate")
        fig.tight_layout()
        fig.savefig(HERE / "mode-shares.png", dpi=90)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
