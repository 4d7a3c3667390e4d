"""Patch placement against whole-image coding: the cell placement of format 5 and the widened
placement of format 4, same model, same photos, same overlaps.

    python experiments/patch_overlap/placement.py --set crops --patch 256      # 768x512 crops
    python experiments/patch_overlap/placement.py --set large --patch 256      # 1920x1080 crops of large/
    python experiments/patch_overlap/placement.py --set eval --patch 1024      # the eval photos, whole

Writes results/placement-SET-pP.md (and .json). For each photo and quality: the whole image
coded at once (``patch=None``), a real tiled file in cells (``codec.compress(patch, overlap)``),
and two placements rebuilt from their own patches: the widened one
(``PatchGrid(..., multiple=64, cells=False)``) and cells whose spans are multiples of 64 but the
last (``cells64``: ``PatchGrid(..., multiple=64)``), each patch coded as an image, the file's
bytes counted as one header plus every patch's sections, and the patches blended as the
decoder blends them. ``--layouts`` picks among cells, cells64 and widened.
BD-rates (PSNR-RGB and MS-SSIM) of both placements against whole-image coding, and the coded
area (padded pixels included) over the image area.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import tilecodec
from tilecodec import container
from tilecodec.bench.bdrate import bd_rate
from tilecodec.images import load_image
from tilecodec.metrics import ms_ssim, psnr
from tilecodec.numerics import cpu_name
from tilecodec.tiling import Blender, PatchGrid

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / "shared" / "data"
WHOLE_MEMORY = 4 << 30  # whole-image coding of the large crops needs more than the default budget
SETS = {  # name: (folder, glob, crop (w, h) or None, photos)
    "crops": ("eval", "*.png", (768, 512), 6),
    "eval": ("eval", "*.png", None, 25),
    "large": ("large", "*.jpg", (1920, 1080), 5),
}


def centre(a: np.ndarray, size) -> np.ndarray:
    if size is None:
        return a
    w, h = size if a.shape[1] >= a.shape[0] else size[::-1]
    y, x = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    return np.ascontiguousarray(a[y: y + h, x: x + w])


def header_bytes(data: bytes) -> int:
    _, table = container.index(data)
    return len(data) - sum(8 + length for _, length, _ in table)


def rebuilt(codec, image: np.ndarray, quality: float, patch: int, overlap: int, cells: bool):
    """(bytes, reconstruction, coded area) of a placement with spans in multiples of 64
    (``cells``: the cell placement, else the widened one of format 4), rebuilt patch by patch."""
    h, w = image.shape[:2]
    if w <= patch and h <= patch:
        data = codec.compress(image, quality=quality, patch=None)
        return len(data), codec.decompress(data), h * w
    grid = PatchGrid(w, h, patch, overlap, 64, cells=cells)
    blender, total, area = Blender(grid), 0, 0
    for p in grid.patches:
        data = codec.compress(image[p.y0: p.y1, p.x0: p.x1], quality=quality, patch=None)
        total += len(data) - header_bytes(data)
        blender.add(p, codec.decompress(data).astype(np.float32) / 255)
        area += -(-(p.y1 - p.y0) // 16) * 16 * (-(-(p.x1 - p.x0) // 16) * 16)
    return total + header_bytes(data), blender.finish(), area


def coded_area(codec, image, patch, overlap) -> int:
    _, _, grid, _ = codec.plan(image, 50, patch, overlap, 0, WHOLE_MEMORY)
    m = codec.model.size_multiple
    boxes = grid.patches if grid else []
    if not boxes:
        return (-(-image.shape[0] // m) * m) * (-(-image.shape[1] // m) * m)
    return sum((-(-(p.y1 - p.y0) // m) * m) * (-(-(p.x1 - p.x0) // m) * m) for p in boxes)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", choices=SETS, default="crops")
    p.add_argument("--patch", type=int, default=256)
    p.add_argument("--overlaps", type=int, nargs="+", default=[0, 8, 16])
    p.add_argument("--qualities", type=float, nargs="+", default=[0, 25, 50, 75, 100])
    p.add_argument("--model", default=None)
    p.add_argument("--layouts", nargs="+", choices=("cells", "cells64", "widened"), default=["cells", "widened"])
    p.add_argument("--out", default=None, help="results file stem (default results/placement-SET-pP)")
    args = p.parse_args()
    folder, pattern, size, count = SETS[args.set]
    photos = [centre(load_image(f), size) for f in sorted((DATA / folder).glob(pattern))[:count]]
    codec = tilecodec.load(args.model)
    curves: dict[str, list[list[float]]] = {}  # layout -> per quality [bpp, psnr, ms-ssim, area ratio]

    def add(name, q_index, nbytes, image, out, area):
        row = curves.setdefault(name, [[0.0, 0.0, 0.0, 0.0] for _ in args.qualities])[q_index]
        for k, v in enumerate((8 * nbytes / image[..., 0].size, psnr(image, out), ms_ssim(image, out),
                               area / image[..., 0].size)):
            row[k] += v / len(photos)

    for i, image in enumerate(photos):
        for qi, q in enumerate(args.qualities):
            data = codec.compress(image, quality=q, patch=None, max_memory=WHOLE_MEMORY)
            add("whole", qi, len(data), image, codec.decompress(data, max_memory=WHOLE_MEMORY),
                coded_area(codec, image, None, 0))
            for n in args.overlaps:
                if "cells" in args.layouts:
                    data = codec.compress(image, quality=q, patch=args.patch, overlap=n)
                    add(f"cells N={n}", qi, len(data), image, codec.decompress(data),
                        coded_area(codec, image, args.patch, n))
                for name in ("cells64", "widened"):
                    if name in args.layouts:
                        nbytes, out, area = rebuilt(codec, image, q, args.patch, n, cells=name == "cells64")
                        add(f"{name} N={n}", qi, nbytes, image, out, area)
        print(f"photo {i + 1}/{len(photos)}", file=sys.stderr, flush=True)
    base = curves["whole"]
    lines = [f"`python experiments/patch_overlap/placement.py {' '.join(sys.argv[1:])}`", "",
             f"Model {codec.name} ({codec.model_hash}); {len(photos)} photos of `{folder}/`"
             f"{f', {size[0]}x{size[1]} centre crops' if size else ', whole'}; patch {args.patch}; qualities "
             f"{' '.join(f'{q:g}' for q in args.qualities)}; real files for whole images and cells, cells64 and "
             f"widened rebuilt from their patches; {cpu_name()}.", "",
             "| layout | coded area / image area | BD-rate PSNR-RGB vs whole | BD-rate MS-SSIM vs whole |",
             "|---|---|---|---|"]
    for name, rows in curves.items():
        if name == "whole":
            continue
        bpp, db, ssim, area = (list(v) for v in zip(*rows))
        bd_p = bd_rate(base_b := [r[0] for r in base], [r[1] for r in base], bpp, db)
        bd_s = bd_rate(base_b, [-10 * np.log10(1 - r[2]) for r in base], bpp, [-10 * np.log10(1 - v) for v in ssim])
        fmt = lambda v: "n/a" if v is None else f"{v:+.2f}%"  # noqa: E731
        lines.append(f"| {name} | {np.mean(area):.3f} | {fmt(bd_p)} | {fmt(bd_s)} |")
    out = Path(args.out) if args.out else HERE / "results" / f"placement-{args.set}-p{args.patch}"
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps({"qualities": args.qualities, "curves": curves}, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
