"""Turn the patch codecs' training outputs into models (zoo entries): a density per rate level
fitted on full-detail crops of ../shared/data/train for MINUTES minutes each
(``train.patch_vae.fit_level_densities``), then written with ``export_patch_codec``.

    python experiments/vae_intra/make_models.py RUNS OUT [MINUTES]
        # RUNS: the folder of train-patch-vae outputs (NAME.safetensors); OUT: models folder
    python experiments/vae_intra/make_models.py RUNS OUT MINUTES --lowrate
        # lowrate.sh's fine-tuned codecs, named NAME-lowrate
    python experiments/vae_intra/make_models.py --bundle OUT
        # copy the chosen models into packages/research and register them there
"""

import dataclasses
import shutil
import sys
from pathlib import Path

from tilecodec.train.patch_vae import export_patch_codec

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT.parent / "shared" / "data" / "train"
# model name <- (training output, modes)
MODELS = {
    "patch-vae": ("patch-vae", False),
    "patch-vae-pretrained-intra": ("patch-vae-pretrained-intra", False),
    "patch-vae-embedded-intra-open": ("patch-vae-embedded-intra", False),
    "patch-vae-embedded-intra": ("patch-vae-embedded-intra-closed", False),
}


LOWRATE = {  # lowrate.sh fine-tunes the bundled models (the closed-loop weights for embedded intra)
    "patch-vae-lowrate": ("patch-vae", False),
    "patch-vae-pretrained-intra-lowrate": ("patch-vae-pretrained-intra", False),
    "patch-vae-embedded-intra-lowrate": ("patch-vae-embedded-intra", False),
}


def main(runs: Path, out: Path, minutes: float, lowrate: bool = False) -> None:
    for name, (source, modes) in (LOWRATE if lowrate else MODELS).items():
        if (out / f"{name}.safetensors").exists():
            continue  # made by an earlier, interrupted call
        e = export_patch_codec(runs / f"{source}.safetensors", name, modes=modes, out=out, fit=[TRAIN],
                               fit_minutes=minutes, log=lambda msg: None)
        print(f"{name}: {e.path} sha256 {e.sha256[:16]}", flush=True)
    embedded = "patch-vae-embedded-intra" + ("-lowrate" if lowrate else "")
    with_modes(out / f"{embedded}.safetensors", f"{embedded}-modes")


def with_modes(weights: Path, name: str) -> None:
    """The same fitted weights as a model whose encoder chooses block modes (learned, none, HEVC)."""
    from tilecodec import zoo

    entry = zoo.entry(str(weights))
    path = weights.with_name(f"{name}.safetensors")
    shutil.copyfile(weights, path)
    zoo.register(dataclasses.replace(entry, name=name, file=path.name, config={**entry.config, "modes": True}))
    print(f"{name}: {path} (the weights of {weights.stem}, block modes on)", flush=True)




def bundle(models: Path) -> None:
    """Copy the three bundled models into the tilecodec-research package and register them:
    ``patch-vae``, ``patch-vae-pretrained-intra``, and ``patch-vae-embedded-intra`` (the
    closed-loop weights with block modes on, which saved 2 to 3% of the bits in ``results.md``)."""
    from tilecodec import zoo
    from tilecodec_research import WEIGHTS

    chosen = {"patch-vae": ("patch-vae", "no prediction: 32x32 blocks coded independently"),
              "patch-vae-pretrained-intra": ("patch-vae-pretrained-intra", "blocks predicted by the pre-trained inpainting autoencoder"),
              "patch-vae-embedded-intra": ("patch-vae-embedded-intra-modes", "blocks predicted by an embedded predictor trained closed loop with the codec; block modes (learned, none, HEVC)")}
    for name, (source, what) in chosen.items():
        entry = zoo.entry(str(models / f"{source}.safetensors"))
        path = WEIGHTS / f"{name}.safetensors"
        shutil.copyfile(entry.path, path)
        zoo.register(dataclasses.replace(entry, name=name, file=path.name, folder=WEIGHTS,
                                         description=f"predictive patch codec, {what}, 8 rate levels, MSE"))
        print(f"bundled {name} ({entry.sha256[:8]})")


if __name__ == "__main__":
    if sys.argv[1] == "--bundle":
        bundle(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 3.0,
             "--lowrate" in sys.argv[4:])
