"""Reproduce Tarchouli et al. (2022) on our data: patch coding with and without overlap.

    python experiments/patch_overlap/run.py [--patch 256] [--points 5] [--skip-bd] [--skip-speed]
    python experiments/patch_overlap/run.py --sizes 256 512 1024 --skip-seam --skip-speed

1. BD-rate (PSNR-RGB and MS-SSIM) of patch coding with N = 0, 2, 4, 8, 16, 32 against
   full-image coding, on ../shared/data/eval (results/bd-pP.{json,md}, results/rd-pP.png
   for patch size P). With ``--sizes``: patch sizes at the default overlap against
   full-image coding instead (results/bd-sizes-nN.{json,md}, rd-sizes-nN.png).
2. Time and peak memory (VmHWM of a fresh process) at 832x480, 1280x720, 1920x1080 and
   24 MP for full-image coding, patches in parallel and patches one after another
   (results/speed-pP.{json,md} for patch size P).
3. A seam, side by side, for N = 0, 8 and 16 (seam.png).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import tilecodec
from tilecodec.api import DEFAULT_OVERLAP, DEFAULT_PATCH
from tilecodec.bench import run_bench
from tilecodec.bench.sweep import default_workers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT.parent / "shared" / "data"

CHILD = """
import resource, sys, time, numpy as np, torch, tilecodec
from PIL import Image
mode, path, patch, overlap, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
peak = lambda: int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024  # bytes; VmHWM starts afresh at exec
torch.set_num_threads(2)
image = np.asarray(Image.open(path).convert("RGB"))
codec = tilecodec.load()
budgets = {"full": 1 << 34, "parallel": 1 << 34, "sequential": 400 * patch * patch}  # sequential: one patch at a time
kw = dict(patch=None if mode == "full" else patch, overlap=overlap, max_memory=budgets[mode])
try:
    t = time.perf_counter()
    data = codec.compress(image, quality=50, **kw)
    enc = time.perf_counter() - t
    del image
    t = time.perf_counter()
    codec.decompress(data, max_memory=kw.get("max_memory"))
    dec = time.perf_counter() - t
    print("ok", enc, dec, peak())
except (MemoryError, RuntimeError) as exc:
    print("failed", type(exc).__name__, peak())
"""


def bd_experiment(model: str, layouts: list[str], name: str, points: int) -> None:
    """BD-rate of each ``@pPnN`` layout against whole-image coding: results/bd-NAME.{json,md}, rd-NAME.png."""
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    codecs = [f"tilecodec-{model}@whole"] + [f"tilecodec-{model}@{layout}" for layout in layouts]
    run_bench(DATA / "eval", codecs=codecs, out=out / f"bd-{name}.json", plot_path=out / f"rd-{name}.png",
              anchor=f"tilecodec-{model}@whole", workers=default_workers(), points=points)


def speed_experiment(patch: int, overlap: int) -> None:
    src = Image.open(DATA / "large" / "012mp-bus.jpg").convert("RGB")
    sizes = {"832x480": (832, 480), "1280x720": (1280, 720), "1920x1080": (1920, 1080), "24MP": (6000, 4000)}
    rows, work = [], Path("/tmp/tilecodec-speed")
    work.mkdir(exist_ok=True)
    for label, (w, h) in sizes.items():
        path = work / f"{label}.png"
        src.resize((w, h), Image.LANCZOS).save(path)
        for mode in ("full", "parallel", "sequential"):
            r = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(patch), str(overlap), str(20 << 30)],
                               capture_output=True, text=True)
            fields = (r.stdout.split() or ["failed", f"exit {r.returncode}", "0"])
            row = dict(size=label, mode=mode, ok=fields[0] == "ok")
            if row["ok"]:
                row.update(encode_s=float(fields[1]), decode_s=float(fields[2]), peak_rss_mb=int(fields[3]) / 2**20)
            else:
                row.update(error=fields[1])
            rows.append(row)
            print(row, file=sys.stderr)
    from tilecodec.numerics import cpu_name

    lines = [f"`python experiments/patch_overlap/run.py {' '.join(sys.argv[1:])}`", "",
             f"Quality 50, patch {patch}, overlap {overlap}, 2 threads, {cpu_name()}; peak resident memory (VmHWM) "
             "of a fresh process that encodes then decodes; one run per row.",
             "", "| size | mode | encode s | decode s | peak RSS MB |", "|---|---|---|---|---|"]
    for r in rows:
        if r["ok"]:
            lines.append(f"| {r['size']} | {r['mode']} | {r['encode_s']:.2f} | {r['decode_s']:.2f} | "
                         f"{r['peak_rss_mb']:.0f} |")
        else:
            lines.append(f"| {r['size']} | {r['mode']} | failed ({r['error']}) | | |")
    (HERE / "results" / f"speed-p{patch}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (HERE / "results" / f"speed-p{patch}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def seam_figure(patch: int) -> None:
    codec = tilecodec.load()
    image = np.asarray(Image.open(DATA / "eval" / "wiki-001.png").convert("RGB"))
    header = tilecodec.info(codec.compress(image[:64, :64], quality=20))  # this format's placement
    multiple = tilecodec.api.span_multiple(header.version, patch, codec.model.size_multiple)
    grid = tilecodec.tiling.PatchGrid(image.shape[1], image.shape[0], patch, 16, multiple)
    x, y = grid.xs[1][0] + 8, grid.ys[1][0] + 8  # where four patches meet (inside the N=16 overlap)
    box = (max(0, x - 48), max(0, y - 48), 96, 96)
    tiles = []
    for n in (0, 8, 16):
        data = codec.compress(image, quality=20, patch=patch, overlap=n)
        crop = codec.decompress(data, region=box)
        tile = Image.fromarray(crop).resize((288, 288), Image.NEAREST)
        canvas = Image.new("RGB", (288, 306), "white")
        canvas.paste(tile, (0, 18))
        ImageDraw.Draw(canvas).text((4, 3), f"N = {n}: {8 * len(data) / image.shape[0] / image.shape[1]:.3f} bpp",
                                    fill="black")
        tiles.append(canvas)
    fig = Image.new("RGB", (296 * len(tiles) - 8, 306), "white")
    for k, tile in enumerate(tiles):
        fig.paste(tile, (296 * k, 0))
    fig.save(HERE / "seam.png")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--patch", type=int, default=256)
    p.add_argument("--sizes", type=int, nargs="+",
                   help="compare these patch sizes at the default overlap instead of every overlap at --patch")
    p.add_argument("--points", type=int, default=5)
    p.add_argument("--model", default="msh-mse-fast",
                   help="bundled model (the committed results used msh-mse, since removed from the zoo)")
    p.add_argument("--skip-bd", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-seam", action="store_true")
    args = p.parse_args()
    if not args.skip_bd and args.sizes:
        bd_experiment(args.model, [f"p{size}n{DEFAULT_OVERLAP}" for size in args.sizes], f"sizes-n{DEFAULT_OVERLAP}", args.points)
    elif not args.skip_bd:
        bd_experiment(args.model, [f"p{args.patch}n{n}" for n in tilecodec.tiling.OVERLAPS], f"p{args.patch}", args.points)
    if not args.skip_seam:
        seam_figure(args.patch)
    if not args.skip_speed:
        speed_experiment(args.patch, DEFAULT_OVERLAP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
