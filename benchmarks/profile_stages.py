"""Where a 768x512 encode and decode spend their time, stage by stage, per bundled model.

    python benchmarks/profile_stages.py [--runs 5]   # writes benchmarks/results/profile_stages.md

Stages, each timed on its own (best of ``--runs``) with the model's own precision and entropy
path: the analysis transform, the hyper-analysis, the exact hyper-synthesis, the coding
parameters of every pass (context model and entropy-parameter network), the range coding of
all strings, the synthesis transform, and the whole ``compress`` / ``decompress`` for
reference (their difference from the stage sum is container, image conversion and glue).
Run with nothing else on the cores.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def stages(codec, img: np.ndarray, runs: int) -> dict:
    from tilecodec.entropy.paths import FIXED_POINT
    from tilecodec.images import to_tensor
    from tilecodec.latent.base import pass_params
    from tilecodec.numerics import fast_transform

    model, lc = codec.model, codec.model.latent_codec
    rate = model.rate_control.point(75)
    x = to_tensor(img, model.size_multiple)
    out = {}
    with torch.no_grad():
        y = model.latent(x, rate)
        out["analysis"] = best(lambda: model.analyse(x), runs)
        z = lc._z(fast_transform(lc.hyper_analysis, y, model.precision).contiguous(), rate.levels())
        out["hyper-analysis"] = best(lambda: fast_transform(lc.hyper_analysis, y, model.precision), runs)
        z_strings, z_hat = lc.z.compress(z)
        params = lc.params(z_hat, rate, FIXED_POINT)
        FIXED_POINT.layers(lc.hyper_synthesis)  # the layer copies are made once per model
        out["hyper-synthesis (exact)"] = best(lambda: lc.params(z_hat, rate, FIXED_POINT), runs)
        out["pass parameters (exact)"] = best(lambda: pass_params(lc.y, y, params, rate, FIXED_POINT), runs)
        strings = lc.compress(y, rate, FIXED_POINT, model.precision).strings
        total = best(lambda: lc.compress(y, rate, FIXED_POINT, model.precision), runs)
        out["range coding and glue (latent compress minus the above)"] = max(
            0.0, total - out["hyper-analysis"] - out["hyper-synthesis (exact)"] - out["pass parameters (exact)"])
        y_hat = lc.decompress(strings, y.shape[2:], rate, FIXED_POINT)
        out["synthesis"] = best(lambda: model.synthesize(y_hat, rate), runs)
        data = codec.compress(img, quality=75)
        out["compress, whole"] = best(lambda: codec.compress(img, quality=75), runs)
        out["decompress, whole"] = best(lambda: codec.decompress(data), runs)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", default=str(ROOT.parent / "shared" / "data" / "eval" / "wiki-001.png"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "profile_stages.md"))
    p.add_argument("--models", nargs="+", help="model names (default: every hyperprior model of the zoo)")
    args = p.parse_args()
    import tilecodec
    from tilecodec.numerics import cpu_name

    img = np.ascontiguousarray(np.asarray(Image.open(args.image).convert("RGB"))[:512, :768])
    names = args.models or [n for n in tilecodec.models()
                            if getattr(tilecodec.load(n).model, "latent_codec", None) is not None
                            and tilecodec.load(n).model.latent_codec.num_strings > 1]  # hyperprior models
    results = {n: stages(tilecodec.load(n), img, args.runs) for n in names}
    rows = list(next(iter(results.values())))
    precision = tilecodec.load().model.precision
    lines = [f"`python benchmarks/profile_stages.py {' '.join(sys.argv[1:])}`".replace(" `", "`"), "",
             f"768x512 crop of {Path(args.image).name}, quality 75, one patch, {torch.get_num_threads()} threads, "
             f"{precision} transforms, torch {torch.__version__}, {cpu_name()}; best of {args.runs} seconds.", "",
             "| stage | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for r in rows:
        lines.append(f"| {r} | " + " | ".join(f"{results[n][r]:.3f}" for n in names) + " |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
