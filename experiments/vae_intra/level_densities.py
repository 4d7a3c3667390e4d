"""What the per-level densities buy: each bundled patch codec codes the 768x512 crops of the
first 4 eval photos with its per-level densities and with the shared density it was trained
with (the fit leaves the shared density and the medians unchanged, so pixels are identical).

    cd experiments/vae_intra && python level_densities.py > level_densities.md
"""

import tilecodec
from tilecodec.images import load_image

from evaluate import EVAL, crop


def main() -> None:
    photos = [crop(load_image(f)) for f in sorted(EVAL.glob("*.png"))[:4]]
    print("`python experiments/vae_intra/level_densities.py` (run from its folder)\n")
    print("Mean bpp over 4 crops, real files.\n\n| model | quality | shared density | per-level densities | change |\n|---|---|---|---|---|")
    for name in ("patch-vae", "patch-vae-pretrained-intra", "patch-vae-embedded-intra"):
        codec = tilecodec.load(name, shared=False)
        latent = codec.model.latent_codec
        fitted = latent.level_densities
        for quality in (0, 50, 100):
            bpp = []
            for densities in (None, fitted):
                latent.level_densities = densities
                bpp.append(sum(8 * len(codec.compress(p, quality=quality, patch=None)) / p.shape[0] / p.shape[1]
                               for p in photos) / len(photos))
            print(f"| {name} | {quality} | {bpp[0]:.3f} | {bpp[1]:.3f} | {100 * (bpp[1] / bpp[0] - 1):+.1f}% |")
        latent.level_densities = fitted


if __name__ == "__main__":
    main()
