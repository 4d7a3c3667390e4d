"""The thesis's intra study on the eval photos, HEVC half: how well the best HEVC mode predicts
each 32x32 block from its original (not decoded) neighbours, and which modes win.

    python experiments/intra/study.py > experiments/intra/hevc.md   # also hevc_modes.png, hevc.json

Every 32x32 block of each photo (cropped to whole blocks) in raster order, references with
raster-order availability (``intra.hevc.raster_reference_lines``), all 35 modes with the
standard's smoothing and edge filters on every RGB channel; a block's error is the mean
squared error over its RGB samples. The learned predictors' columns join when they are trained.
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


def main() -> None:
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
