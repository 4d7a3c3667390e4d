"""The campaign's replacement protocol: does a candidate beat the bundled default model?

    python experiments/campaign/compare.py CANDIDATE [--images 25] [--workers 2]
        # CANDIDATE: a model name or .safetensors path (export a checkpoint first)
        # writes experiments/campaign/compare.md

Both models code every photo of ``../shared/data/eval`` at qualities 0, 20, 40, 60, 80 and 100
with real bitstreams (default layout); curves are the mean bpp and PSNR-RGB per quality. The
candidate replaces the bundled model only if its PSNR BD-rate against it is at most -1% and no
point of its curve inside the bundled curve's range lies below that curve (no rate level
worse). Nothing else is chosen on these photos.
"""

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
QUALITIES = (0, 20, 40, 60, 80, 100)


def _code(job):
    import torch

    import tilecodec
    from tilecodec.images import load_image
    from tilecodec.metrics import psnr

    torch.set_num_threads(1)
    model, path = job
    image = load_image(path)
    codec = tilecodec.load(model)
    out = []
    for q in QUALITIES:
        data = codec.compress(image, quality=q)
        out.append((8 * len(data) / (image.shape[0] * image.shape[1]), psnr(image, codec.decompress(data))))
    return out


def curve(model: str, photos: list, workers: int):
    with ProcessPoolExecutor(workers) as pool:
        points = np.array(list(pool.map(_code, [(model, p) for p in photos])))  # images x qualities x 2
    return points[:, :, 0].mean(0), points[:, :, 1].mean(0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("candidate")
    p.add_argument("--reference", default="ckbd-mse")
    p.add_argument("--images", type=int, default=25)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(Path(__file__).with_name("compare.md")))
    args = p.parse_args()
    import tilecodec
    from tilecodec.bench.bdrate import bd_rate
    from tilecodec.numerics import cpu_name

    photos = sorted((ROOT.parent / "shared" / "data" / "eval").glob("*.png"))[: args.images]
    ref, cand = curve(args.reference, photos, args.workers), curve(args.candidate, photos, args.workers)
    bd = bd_rate(*ref, *cand)
    inside = (cand[0] >= ref[0].min()) & (cand[0] <= ref[0].max())
    below = cand[1][inside] < np.interp(cand[0][inside], *ref)
    verdict = bd <= -1.0 and not below.any()
    names = {args.reference: tilecodec.load(args.reference).model_hash, args.candidate: tilecodec.load(args.candidate).model_hash}
    lines = [f"`python experiments/campaign/compare.py {' '.join(sys.argv[1:])}`", "",
             f"{len(photos)} eval photos, qualities {', '.join(map(str, QUALITIES))}, real files, {cpu_name()}.", "",
             "| model | hash | bpp | PSNR dB |", "|---|---|---|---|"]
    for name, (bpp, ps) in ((args.reference, ref), (args.candidate, cand)):
        lines.append(f"| {name} | {names[name]} | {', '.join(f'{v:.3f}' for v in bpp)} | "
                     f"{', '.join(f'{v:.2f}' for v in ps)} |")
    lines += ["", f"PSNR BD-rate of the candidate against {args.reference}: {bd:+.2f}% (needs <= -1%); "
              f"points below the reference curve: {int(below.sum())} of {int(inside.sum())} inside its range "
              f"(needs 0); top PSNR {cand[1].max():.2f} dB against {ref[1].max():.2f} dB.", "",
              f"Verdict: {'replace the bundled model' if verdict else 'keep the bundled model'}."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
