"""The thesis's intra study on the eval photos, HEVC half: how well the best HEVC mode predicts
each 32x32 block from its original (not decoded) neighbours, and which modes win.

    python experiments/intra/study.py > experiments/intra/hevc.md   # also hevc_modes.png, hevc.json
    python experiments/intra/study.py --learned INPAINTING.safetensors EXTENDED.safetensors > experiments/intra/learned.md

Every 32x32 block of each photo (cropped to whole blocks) in raster order, references with
raster-order availability (``intra.hevc.raster_reference_lines``), all 35 modes with the
standard's smoothing and edge filters on every RGB channel; a block's error is the mean
squared error over its RGB samples. ``--learned`` adds the learned predictors (files named
``inpainting`` and ``extended`` as ``tilecodec train-intra`` writes them) on the blocks that have
all four causal neighbours inside the picture.
"""

import glob
import json
from pathlib import Path

import numpy as np
import torch

from tilecodec.images import load_image
from tilecodec.intra import hevc

HERE = Path(__file__).parent
EVAL = HERE.parents[2] / "shared" / "data" / "eval"
N = 32


def study(path: Path) -> dict:
    array = load_image(path)
    h, w = array.shape[0] // N * N, array.shape[1] // N * N
    picture = torch.from_numpy(np.array(array[:h, :w])).permute(2, 0, 1).long()
    lines, blocks = hevc.raster_reference_lines(picture, N)
    truth = torch.stack([picture[:, y0: y0 + N, x0: x0 + N] for y0, x0 in blocks]).double()
    mse = torch.cat([((hevc.predict(lines[i: i + 64]).double() - truth[i: i + 64, None]) ** 2).mean(dim=(2, 3, 4))
                     for i in range(0, len(blocks), 64)])  # blocks x modes
    best = mse.min(dim=1)
    return {"image": path.name, "blocks": len(blocks), "best_mse": float(best.values.mean()),
            "planar_mse": float(mse[:, hevc.PLANAR].mean()), "dc_mse": float(mse[:, hevc.DC].mean()),
            "wins": torch.bincount(best.indices, minlength=35).tolist()}


def learned(path: Path, predictors: dict) -> dict:
    """On the blocks with all four causal neighbours inside the picture: MSE of the best HEVC
    mode and of each learned predictor (original neighbours), and which of all is best."""
    from tilecodec.intra.learned import ExtendedContextPredictor, windows

    array = load_image(path)
    h, w = array.shape[0] // N * N, array.shape[1] // N * N
    picture = torch.from_numpy(np.array(array[:h, :w])).permute(2, 0, 1).long()
    lines, blocks = hevc.raster_reference_lines(picture, N)
    keep = [i for i, (y0, x0) in enumerate(blocks) if y0 >= N and x0 >= N and x0 + 2 * N <= w]
    truth = torch.stack([picture[:, blocks[i][0]: blocks[i][0] + N, blocks[i][1]: blocks[i][1] + N] for i in keep]).double()
    hevc_mse = torch.cat([((hevc.predict(lines[keep[j: j + 64]]).double() - truth[j: j + 64, None]) ** 2).mean(dim=(2, 3, 4))
                          for j in range(0, len(keep), 64)])
    scaled = picture.float() / 255
    win = torch.stack([scaled[:, blocks[i][0] - N: blocks[i][0] + N, blocks[i][1] - N: blocks[i][1] + 2 * N] for i in keep])
    context, neighbours, _ = windows(win)
    learned_mse = {}
    with torch.no_grad():
        for name, model in predictors.items():
            source = neighbours if isinstance(model, ExtendedContextPredictor) else context
            out = torch.cat([model(source[j: j + 256]) for j in range(0, len(keep), 256)])
            out = torch.round(out.double() * 255)
            learned_mse[name] = ((out - truth) ** 2).mean(dim=(1, 2, 3))
    best_hevc = hevc_mse.min(dim=1)
    everything = torch.cat([hevc_mse] + [v[:, None] for v in learned_mse.values()], dim=1)
    return {"image": path.name, "blocks": len(keep), "best_hevc_mse": float(best_hevc.values.mean()),
            **{f"{k}_mse": float(v.mean()) for k, v in learned_mse.items()},
            **{f"{k}_beats_hevc": float((v < best_hevc.values).double().mean()) for k, v in learned_mse.items()},
            "wins": torch.bincount(everything.argmin(dim=1), minlength=everything.shape[1]).tolist()}


def main_learned(paths: list) -> None:
    from tilecodec.intra.learned import load_predictor

    predictors = {Path(p).stem.removeprefix("intra-"): load_predictor(p) for p in paths}
    rows = [learned(Path(p), predictors) for p in sorted(glob.glob(str(EVAL / "*.png")))]
    (HERE / "learned.json").write_text(json.dumps(rows, indent=1) + "\n")
    names = list(predictors)
    print(f"`python experiments/intra/study.py --learned {' '.join(paths)}`\n")
    print(f"{len(rows)} eval photos, {sum(r['blocks'] for r in rows)} blocks of {N}x{N} with all four causal "
          "neighbours inside the picture, original neighbours; MSE on 0-255 samples.\n")
    print("| photo | blocks | best HEVC MSE | " + " | ".join(f"{n} MSE | {n} beats best HEVC" for n in names) + " |")
    print("|---|---|---|" + "---|---|" * len(names))
    for r in rows:
        print(f"| {r['image']} | {r['blocks']} | {r['best_hevc_mse']:.1f} | "
              + " | ".join(f"{r[n + '_mse']:.1f} | {r[n + '_beats_hevc']:.0%}" for n in names) + " |")
    wins = np.sum([r["wins"] for r in rows], axis=0)
    total = wins.sum()
    print("\nBest predictor per block, HEVC modes and the learned ones together: planar "
          f"{wins[0] / total:.1%}, DC {wins[1] / total:.1%}, angular {wins[2:35].sum() / total:.1%}, "
          + ", ".join(f"{n} {wins[35 + i] / total:.1%}" for i, n in enumerate(names)) + ".")


def main() -> None:
    import sys

    if sys.argv[1:2] == ["--learned"]:
        return main_learned(sys.argv[2:])
    rows = [study(Path(p)) for p in sorted(glob.glob(str(EVAL / "*.png")))]
    wins = np.sum([r["wins"] for r in rows], axis=0)
    total = int(wins.sum())
    (HERE / "hevc.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("`python experiments/intra/study.py`\n")
    print(f"{len(rows)} eval photos, {total} blocks of {N}x{N}, original neighbours, raster-order availability.\n")
    print("| photo | blocks | best HEVC mode MSE | planar MSE | DC MSE | planar + DC share of wins |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        share = (r["wins"][0] + r["wins"][1]) / r["blocks"]
        print(f"| {r['image']} | {r['blocks']} | {r['best_mse']:.1f} | {r['planar_mse']:.1f} | {r['dc_mse']:.1f} | "
              f"{share:.0%} |")
    print(f"\nMode histogram over all blocks (share of blocks where the mode is best): planar "
          f"{wins[0] / total:.1%}, DC {wins[1] / total:.1%}, horizontal (10) {wins[10] / total:.1%}, vertical (26) "
          f"{wins[26] / total:.1%}, the other 31 angular modes {(total - wins[[0, 1, 10, 26]].sum()) / total:.1%}.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar(range(35), wins / total)
    ax.set_xlabel("HEVC mode (0 planar, 1 DC, 2-34 angular)")
    ax.set_ylabel("share of blocks where best")
    ax.set_title(f"Best HEVC intra mode per 32x32 block, {len(rows)} eval photos")
    fig.tight_layout()
    fig.savefig(HERE / "hevc_modes.png", dpi=100)


if __name__ == "__main__":
    main()
