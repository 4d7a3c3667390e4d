"""BD-rate of every tilecodec model in benchmarks/results/bench.json against the classical
codecs, next to the training campaign's targets (PSNR-RGB: at most -25% against JPEG 2000
and WebP, at most -5% against AVIF).

    python benchmarks/bd_targets.py      # writes benchmarks/results/bd_targets.md
    python benchmarks/bd_targets.py --bench bench-refine.json --out bd_targets-refine.md
"""

import argparse
import json
from pathlib import Path

from tilecodec.bench.bdrate import bd_rate

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"jpeg2000": -25.0, "webp": -25.0, "avif": -5.0}
ANCHORS = ["jpeg", "jpeg2000", "webp", "avif", "jpegxl"]


def cell(value, target=None) -> str:
    if value is None:
        return "no overlap"
    text = f"{value:+.2f}%"
    return text if target is None else f"{text} ({'meets' if value <= target else 'misses'} {target:g}%)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", default="bench.json", help="bench JSON in benchmarks/results")
    p.add_argument("--out", default="bd_targets.md", help="table written to benchmarks/results")
    args = p.parse_args()
    bench = json.loads((RESULTS / args.bench).read_text())
    curves = {c["name"]: c["results"] for c in bench["codecs"]}
    command = "python benchmarks/bd_targets.py" + (
        "" if args.bench == "bench.json" else f" --bench {args.bench} --out {args.out}")
    lines = [f"`{command}` (from `{args.bench}`: "
             f"{len(bench['images'])} images, {bench['bd_method']})", ""]
    for metric, label in (("psnr-rgb", "PSNR-RGB"), ("ms-ssim-rgb-db", "MS-SSIM (dB)")):
        anchors = [a for a in ANCHORS if a in curves]
        lines += [f"BD-rate, {label}, of each tilecodec model against each codec (negative = fewer bits):", "",
                  "| model | " + " | ".join(anchors) + " |", "|---|" + "---|" * len(anchors)]
        for name, r in curves.items():
            if not name.startswith("tilecodec-"):
                continue
            row = [cell(bd_rate(curves[a]["bpp"], curves[a][metric], r["bpp"], r[metric]),
                        TARGETS.get(a) if metric == "psnr-rgb" else None) for a in anchors]
            lines.append(f"| {name} | " + " | ".join(row) + " |")
        lines.append("")
    text = "\n".join(lines).strip() + "\n"
    print(text)
    (RESULTS / args.out).write_text(text)


if __name__ == "__main__":
    main()
