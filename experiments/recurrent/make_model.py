"""Bundle trained recurrent networks as a zoo model (a reference model in ``tilecodec-research``):

    python experiments/recurrent/make_model.py experiments/recurrent/recurrent-w32-i16.safetensors
    python experiments/recurrent/make_model.py experiments/recurrent/recurrent-w32-i16.safetensors \\
        --name recurrent-multimode --prediction multi --base recurrent

writes ``NAME.safetensors`` and its entry into the companion package's zoo (``--out DIR``: into
DIR instead, as a user model). With ``--prediction``, the bundled inpainting (and, for multi,
extended-context) predictors' weights go into the model's file."""

import argparse
import json
from pathlib import Path

from tilecodec import zoo
from tilecodec.intra.learned import bundled
from tilecodec.models.progressive import RecurrentImageCodec
from tilecodec.models.recurrent import load_recurrent
from tilecodec.train.export import write_model

WEIGHTS = Path(__file__).resolve().parents[2] / "packages/research/src/tilecodec_research/weights"
WHAT = {"none": "", "single": ", single-mode intra prediction (inpainting predictor)",
        "multi": ", multi-mode intra prediction (none, two learned predictors, HEVC)"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", help="a .safetensors file written by tilecodec train-recurrent")
    ap.add_argument("--name", default="recurrent")
    ap.add_argument("--iterations", type=int, default=16)
    ap.add_argument("--prediction", choices=("none", "single", "multi"), default="none")
    ap.add_argument("--out", type=Path, default=None, help="write a user model here instead of bundling")
    ap.add_argument("--base", default=None, help="store only the tensors that differ from this model's "
                                                 "(the same networks: only the predictors)")
    args = ap.parse_args()
    net = load_recurrent(args.networks)
    width = net.e_conv.out_channels
    config = {"width": width, "iterations": args.iterations}
    if args.prediction != "none":
        predictors = {"inpainting": bundled("inpainting"), "extended": bundled("extended")}
        config.update(prediction=args.prediction,
                      predictor_width=predictors["inpainting"].decoder[-2].in_channels)
    model = RecurrentImageCodec(**config)
    model.net.load_state_dict(net.state_dict())
    for kind in ("inpainting", "extended"):
        if getattr(model, kind) is not None:
            getattr(model, kind).load_state_dict(predictors[kind].state_dict())
    folder = args.out or WEIGHTS
    entry = write_model(model.eval(), args.name, "recurrent", config, folder,
                        f"recurrent progressive codec (Toderici et al. 2017), width {width}, "
                        f"{args.iterations} iterations of 128 bits per 32x32 block{WHAT[args.prediction]}",
                        base=zoo.entry(args.base) if args.base else None)
    if args.out is None:
        zoo_file = WEIGHTS / "zoo.json"
        registry = json.loads(zoo_file.read_text())
        registry[args.name]["reference"] = True  # it does not beat the default model
        zoo_file.write_text(json.dumps(registry, indent=2) + "\n")
    print(f"{entry.name}: {folder / entry.file} sha256 {entry.sha256}")


if __name__ == "__main__":
    main()
