"""Which prediction the bundled block-modes codec chooses, by quality: the share of blocks per
mode over the 768x512 crops of the first 4 eval photos.

    cd experiments/vae_intra && python mode_shares.py > mode_shares.md
"""

import sys

import numpy as np

import tilecodec
from tilecodec.images import load_image, to_tensor
from tilecodec.models import predictive

from evaluate import EVAL, crop


def main() -> None:
    model = tilecodec.load("patch-vae-embedded-intra").model
    photos = [crop(load_image(f)) for f in sorted(EVAL.glob("*.png"))[:4]]
    print(f"`python experiments/vae_intra/{sys.argv[0].rsplit('/', 1)[-1]}`\n")
    print("| quality | learned | none (mid-grey) | HEVC planar | HEVC DC | HEVC angular |\n|---|---|---|---|---|---|")
    for quality in (0, 50, 100):
        counts = np.zeros(predictive.MODES, int)
        for image in photos:
            strings, _ = predictive.encode_image(model, to_tensor(image, 32), model.rate_control.point(quality))
            modes = predictive._modes(strings[1], image.shape[0] // 32, image.shape[1] // 32)
            counts += np.bincount(modes.flatten().numpy(), minlength=predictive.MODES)
        share = 100 * counts / counts.sum()
        hevc = share[predictive.HEVC0:]
        print(f"| {quality} | {share[predictive.LEARNED]:.1f}% | {share[predictive.NONE]:.1f}% | {hevc[0]:.1f}% | "
              f"{hevc[1]:.1f}% | {hevc[2:].sum():.1f}% |")


if __name__ == "__main__":
    main()
