"""The correlation-loss table: each trained variant's PSNR BD-rate against the plain hyperprior,
its latents' mean spatial correlation, and its encode / decode time, with real bitstreams.

    python experiments/correlation_loss/evaluate.py RUN.pt [RUN.pt ...] --baseline NAME \
        [--images 25] [--crop 768x512] [--qualities 0 25 50 75 100] [--out table.md]

Each RUN.pt is a ``tilecodec train`` checkpoint (or a ``snapshot.py`` .safetensors with its
config in the metadata); its name is the file's stem. Every variant codes the same centre
crops of the first ``--images`` photos of ../shared/data/eval at the same qualities. The
correlation is that of Ali et al. (NeurIPS 2023): for the normalized latent
``(y - mu) / sigma`` with the means and scales the coder uses, the mean over channels and
images of the absolute correlation with each neighbour of a 5x5 window (the centre excluded),
averaged over the window.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tilecodec.api import Codec
from tilecodec.bench.bdrate import bd_rate
from tilecodec.metrics import psnr
from tilecodec.models import build
from tilecodec.numerics import cpu_name
from tilecodec.train.loop import model_config

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT.parent / "shared" / "data" / "eval"


def load(path: Path):
    """(model ready to code, architecture) from a checkpoint or a snapshot."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(path), "pt") as f:
            cfg = json.loads(f.metadata()["config"])
        state = {k: v.float() for k, v in load_file(str(path)).items()}
    else:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        cfg, state = ckpt["config"], ckpt["model"]
    model = build(cfg["architecture"], **model_config(cfg))
    model.load_weights(state)
    model.eval().update_tables()
    return model, cfg["architecture"]


def centre_crop(path: Path, w: int, h: int) -> np.ndarray:
    img = np.asarray(Image.open(path).convert("RGB"))
    top, left = max(0, (img.shape[0] - h) // 2), max(0, (img.shape[1] - w) // 2)
    return np.ascontiguousarray(img[top: top + h, left: left + w])


def latent_correlation(model, img: np.ndarray, quality: float, k: int = 5) -> float:
    """Mean |corr| of the normalized latent with its k x k neighbours (centre excluded)."""
    rate = model.rate_control.point(quality)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = model.latent(x, rate, "reference")
        _, scales, means = model.latent_codec.coding_params(y, rate)
    n = (y.double() - (means if means is not None else 0)) / scales.clamp_min(1e-3)
    n = (n - n.mean(dim=(2, 3), keepdim=True)) / n.std(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    p = k // 2
    h, w = n.shape[2:]
    corrs = []
    for di in range(-p, p + 1):
        for dj in range(-p, p + 1):
            if di == dj == 0:
                continue
            a = n[:, :, max(0, di): h + min(0, di), max(0, dj): w + min(0, dj)]
            b = n[:, :, max(0, -di): h + min(0, -di), max(0, -dj): w + min(0, -dj)]
            corrs.append((a * b).mean(dim=(2, 3)).abs().mean().item())
    return statistics.mean(corrs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--baseline", required=True, help="the plain hyperprior's run name (file stem)")
    p.add_argument("--images", type=int, default=25)
    p.add_argument("--crop", default="768x512")
    p.add_argument("--qualities", type=float, nargs="+", default=[0, 25, 50, 75, 100])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "table.md")
    p.add_argument("--append", action="store_true", help="keep the rows already in --out's .json (same settings)")
    args = p.parse_args()
    w, h = map(int, args.crop.split("x"))
    images = [centre_crop(f, w, h) for f in sorted(EVAL.glob("*.png"))[: args.images]]
    rows = json.loads(args.out.with_suffix(".json").read_text()) if args.append else {}
    for run in args.runs:
        model, arch = load(run)
        codec = Codec.from_model(model, run.stem)
        bpp, db, enc, dec = [], [], [], []
        for q in args.qualities:
            sizes, quality = [], []
            for img in images:
                t = time.perf_counter()
                data = codec.compress(img, quality=q)
                enc.append(time.perf_counter() - t)
                t = time.perf_counter()
                out = codec.decompress(data)
                dec.append(time.perf_counter() - t)
                sizes.append(8 * len(data) / (h * w))
                quality.append(psnr(img, out))
            bpp.append(statistics.mean(sizes))
            db.append(statistics.mean(quality))
        corr = statistics.mean(latent_correlation(model, img, 50) for img in images)
        rows[run.stem] = {"architecture": arch, "bpp": bpp, "psnr": db, "corr": corr,
                          "encode": statistics.median(enc), "decode": statistics.median(dec)}
        print(run.stem, rows[run.stem], flush=True)
    base = rows[args.baseline]
    lines = [f"`python experiments/correlation_loss/{Path(__file__).name} {' '.join(sys.argv[1:])}`", "",
             f"{len(images)} centre crops of {w}x{h} of the eval photos, qualities "
             f"{' '.join(f'{q:g}' for q in args.qualities)}, real files; times: median per crop, "
             f"{torch.get_num_threads()} threads, {cpu_name()}.", "",
             f"| run | architecture | PSNR BD-rate vs {args.baseline} | mean abs latent correlation (5x5) "
             "| encode s | decode s |", "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        bd = 0.0 if name == args.baseline else bd_rate(base["bpp"], base["psnr"], r["bpp"], r["psnr"])
        lines.append(f"| {name} | {r['architecture']} | {'n/a' if bd is None else f'{bd:+.2f}%'} | {r['corr']:.4f} | {r['encode']:.2f} | "
                     f"{r['decode']:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
