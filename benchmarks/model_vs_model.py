"""BD-rate between two exports of a tilecodec model, from the bench cache.

Usage: python benchmarks/model_vs_model.py CODEC OLD_HASH NEW_HASH [PATCH/OVERLAP]
(e.g. tilecodec-msh-mse a35d4623 26649d33 256/8). With PATCH/OVERLAP, only points coded
with that layout count (whatever the codec's ``@`` suffix), so two exports benchmarked
under different default layouts are compared on the same one. Uses the per-image points that
`benchmarks/eval_bench.sh` stored in benchmarks/results/.bench.cache.jsonl (every export's
points stay there, keyed by its hash): mean bpp and PSNR-RGB per quality over the images
both exports have, then the BD-rate of NEW against OLD and of each against JPEG.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from tilecodec.bench.bdrate import bd_rate

CACHE = Path(__file__).parent / "results" / ".bench.cache.jsonl"


def curves(codec: str, hashes: list[str], layout: list[str] | None = None) -> dict:
    points = defaultdict(lambda: defaultdict(dict))  # name -> setting -> image -> (bpp, psnr)
    for line in CACHE.read_text().splitlines():
        r = json.loads(line)
        key = r["key"].split("|")
        if key[0].split("@")[0] == codec and key[1] in hashes and (layout is None or key[2:4] == layout):
            points[key[1]][r["setting"]][r["image"]] = (r["bpp"], r["psnr_rgb"])
        elif r["codec"] == "jpeg":
            points["jpeg"][r["setting"]][r["image"]] = (r["bpp"], r["psnr_rgb"])
    # the sweep's settings cover every image; bisection (match) adds stray single-image points
    full = {name: max(len(v) for v in points[name].values()) for name in hashes}
    images = set.intersection(*(set(v) for name in hashes for v in points[name].values() if len(v) == full[name]))
    out = {}
    for name, by_setting in points.items():
        rows = [(s, [v[i] for i in sorted(images)]) for s, v in sorted(by_setting.items()) if images <= set(v)]
        out[name] = (np.array([np.mean([b for b, _ in pts]) for _, pts in rows]),
                     np.array([np.mean([q for _, q in pts]) for _, pts in rows]), [s for s, _ in rows])
    return out, len(images)


def main() -> None:
    codec, old, new = sys.argv[1:4]
    layout = sys.argv[4].split("/") if len(sys.argv) > 4 else None
    c, n = curves(codec, [old, new], layout)
    print(f"`python benchmarks/model_vs_model.py {' '.join(sys.argv[1:])}`\n")
    print(f"{n} images; mean over images per quality; BD-rate by PCHIP over the common PSNR range.\n")
    print("| export | qualities | bpp | PSNR dB | BD-rate vs JPEG |\n|---|---|---|---|---|")
    for name in (old, new):
        bpp, psnr, settings = c[name]
        print(f"| {name} | {', '.join(f'{s:g}' for s in settings)} | {', '.join(f'{v:.3f}' for v in bpp)} "
              f"| {', '.join(f'{v:.2f}' for v in psnr)} | {bd_rate(*c['jpeg'][:2], bpp, psnr):+.2f}% |")
    print(f"\nBD-rate of {new} against {old}: {bd_rate(*c[old][:2], *c[new][:2]):+.2f}%")


if __name__ == "__main__":
    main()
