"""What padding costs: bits for replicate-padded pixels against bits for real ones.

    python experiments/patch_overlap/pad_cost.py [--photos 8] > experiments/patch_overlap/results/pad-cost.md

A patch layout whose patches are not multiples of the model's size granularity (64 pixels for
the hyperprior models) must either code extra real pixels (today's layout widens the last
patch of a row or column leftwards) or pad the patch. This measures both on the 768x512
centre crop of eval photos, coded whole with the default model: the crop itself; the crop
with 64 columns and 64 rows of edge replication (832x576, as ``images.to_tensor`` pads); and
an 832x576 crop of real pixels around it. The ratio (padded - crop) / (real - crop) is the
price of a padded pixel in real pixels.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import tilecodec
from tilecodec.images import load_image
from tilecodec.numerics import cpu_name

EVAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "eval"


def centre(a: np.ndarray, h: int, w: int) -> np.ndarray:
    y, x = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    return np.ascontiguousarray(a[y: y + h, x: x + w])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=8)
    p.add_argument("--qualities", type=float, nargs="+", default=[0, 25, 50, 75, 100])
    args = p.parse_args()
    codec = tilecodec.load()
    print(f"`python experiments/patch_overlap/pad_cost.py {' '.join(sys.argv[1:])}`\n")
    print(f"Model {codec.name} ({codec.model_hash}), the first {args.photos} eval photos (landscape "
          f"768x512 centre crops; area +{832 * 576 / (768 * 512) - 1:.1%} for the 832x576 versions), "
          f"{cpu_name()}.\n")
    print("| quality | crop bytes | edge-padded: extra bytes | real pixels: extra bytes | padded pixel / real pixel |")
    print("|---|---|---|---|---|")
    for q in args.qualities:
        base = pad = real = 0
        for f in sorted(EVAL.glob("*.png"))[: args.photos]:
            image = load_image(f)
            if image.shape[0] > image.shape[1]:
                image = np.ascontiguousarray(image.transpose(1, 0, 2))
            crop = centre(image, 512, 768)
            size = lambda a: len(codec.compress(a, quality=q, patch=None))  # noqa: E731
            base += size(crop)
            pad += size(np.pad(crop, ((0, 64), (0, 64), (0, 0)), mode="edge"))
            real += size(np.ascontiguousarray(image[(image.shape[0] - 512) // 2: (image.shape[0] - 512) // 2 + 576,
                                                    (image.shape[1] - 768) // 2: (image.shape[1] - 768) // 2 + 832]))
        print(f"| {q:g} | {base} | {pad - base:+} ({(pad - base) / base:+.1%}) | {real - base:+} "
              f"({(real - base) / base:+.1%}) | {(pad - base) / (real - base):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
