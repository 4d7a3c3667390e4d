"""BD-rates of the study's curves (results.json from evaluate.py), PSNR-Y and MS-SSIM in dB.

    python experiments/vae_intra/summary.py > experiments/vae_intra/summary.md
"""

import json
from pathlib import Path

import numpy as np

from tilecodec.bench.bdrate import bd_rate
from tilecodec.metrics import ms_ssim_db

HERE = Path(__file__).parent
ANCHORS = ("patch-vae", "jpeg", "jpeg2000", "ckbd-mse")
LOW_BPP = 0.12  # the low-rate table uses the points below this rate


def curve(points, metric):
    bpp = np.array([p["bpp"] for p in points])
    quality = np.array([ms_ssim_db(p["ms_ssim"]) if metric == "ms_ssim" else p["psnr_y"] for p in points])
    return bpp, quality


def main() -> None:
    curves = json.loads((HERE / "results.json").read_text())
    print("`python experiments/vae_intra/summary.py` (from `results.json`)\n")
    print("BD-rate of each codec (rows) against each anchor (columns), over the quality range the two "
          "curves share; negative = fewer bits. PSNR-Y / MS-SSIM (dB).\n")
    print("| codec | " + " | ".join(f"vs {a}" for a in ANCHORS) + " |")
    print("|---|" + "---|" * len(ANCHORS))
    for name, points in curves.items():
        cells = []
        for anchor in ANCHORS:
            if anchor == name:
                cells.append("")
                continue
            values = [bd_rate(*curve(curves[anchor], m), *curve(points, m)) for m in ("psnr_y", "ms_ssim")]
            cells.append(" / ".join("n/a" if v is None else f"{v:+.1f}%" for v in values))
        print(f"| {name} | " + " | ".join(cells) + " |")
    low = [n for n in curves if n.endswith("-lowrate") or n.endswith("-lowrate-modes")]
    if "patch-vae-lowrate" in curves:
        print(f"\nBelow 0.1 bpp: the fine-tuned low-rate codecs' points under {LOW_BPP} bpp, BD-rate against "
              "patch-vae-lowrate over the range they share, and PSNR-Y at each codec's lowest level:\n")
        print("| codec | points | BD-rate PSNR-Y / MS-SSIM | lowest level |\n|---|---|---|---|")
        for name in low:
            pts = [q for q in curves[name] if q["bpp"] < LOW_BPP]
            base = [q for q in curves["patch-vae-lowrate"] if q["bpp"] < LOW_BPP]
            values = [bd_rate(*curve(base, m), *curve(pts, m)) for m in ("psnr_y", "ms_ssim")]
            bd = "" if name == "patch-vae-lowrate" else " / ".join("n/a" if v is None else f"{v:+.1f}%" for v in values)
            print(f"| {name} | {len(pts)} | {bd} | {pts[0]['bpp']:.3f} bpp, {pts[0]['psnr_y']:.2f} dB |")
    print("\nEncode / decode seconds per 768x512 crop (one thread), at the lowest and highest setting:\n")
    print("| codec | encode | decode |\n|---|---|---|")
    for name, points in curves.items():
        print(f"| {name} | {points[0]['encode_s']:.2f} to {points[-1]['encode_s']:.2f} | "
              f"{points[0]['decode_s']:.2f} to {points[-1]['decode_s']:.2f} |")


if __name__ == "__main__":
    main()
