"""Bundle the trained recurrent networks as the zoo model ``recurrent`` (a reference model in
``tilecodec-research``):

    python experiments/recurrent/make_model.py experiments/recurrent/recurrent-w32-i16.safetensors

writes ``recurrent.safetensors`` and its entry into the companion package's zoo."""

import argparse
import json
from pathlib import Path

from tilecodec.models.progressive import RecurrentImageCodec
from tilecodec.models.recurrent import load_recurrent
from tilecodec.train.export import write_model

WEIGHTS = Path(__file__).resolve().parents[2] / "packages/research/src/tilecodec_research/weights"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", help="a .safetensors file written by tilecodec train-recurrent")
    ap.add_argument("--name", default="recurrent")
    ap.add_argument("--iterations", type=int, default=16)
    args = ap.parse_args()
    net = load_recurrent(args.networks)
    width = net.e_conv.out_channels
    model = RecurrentImageCodec(width=width, iterations=args.iterations)
    model.net.load_state_dict(net.state_dict())
    entry = write_model(model.eval(), args.name, "recurrent", {"width": width, "iterations": args.iterations}, WEIGHTS,
                        f"recurrent progressive codec (Toderici et al. 2017), width {width}, "
                        f"{args.iterations} iterations of 128 bits per 32x32 block")
    zoo_file = WEIGHTS / "zoo.json"
    registry = json.loads(zoo_file.read_text())
    registry[args.name]["reference"] = True  # it does not beat the default model
    zoo_file.write_text(json.dumps(registry, indent=2) + "\n")
    print(f"{entry.name}: {WEIGHTS / entry.file} sha256 {entry.sha256}")


if __name__ == "__main__":
    main()
