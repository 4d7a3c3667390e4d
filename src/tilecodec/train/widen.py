"""Start a wider model from a trained narrower one, computing the same function (the
function-preserving widening of Chen, Goodfellow & Shlens, "Net2Net", ICLR 2016, with the
new connections started at zero rather than split).

Each hidden stage of the analysis and synthesis transforms grows to its new width: the
producing conv gets new output channels (freshly initialised), GDN gets new rows and columns
(the new channels normalised by themselves only; old channels see none of them), and every
weight that reads a new channel starts at zero. So the widened model's latents, bits and
reconstructions equal the original's (up to float rounding), and training starts from the
trained model's loss while the new channels learn. Everything else is copied.

    python -m tilecodec.train.widen ckbd-mse --widths 192 192 192 -o wide.safetensors
"""

import argparse

import torch

from ..models import build
from .prune import _STAGES, _input_dim


@torch.no_grad()
def widen(model, architecture: str, config: dict, widths, seed: int = 0) -> dict:
    """The state dict of ``model`` (built as ``architecture`` with ``config``) widened to
    ``widths`` (3 transform stages, full resolution inward; each at least the current one).
    The new producing filters are drawn from ``seed``: the same inputs give the same tensors."""
    torch.manual_seed(seed)
    wide = build(architecture, **{**config, "widths": [int(w) for w in widths]})
    state = wide.state_dict()
    old = model.state_dict()
    for key, tensor in old.items():
        target = state[key]
        if not key.startswith(("analysis.", "synthesis.")):
            state[key] = tensor.clone()  # latent codec, gains, tables: unchanged
            continue
        if any(a > b for a, b in zip(tensor.shape, target.shape)):
            raise ValueError(f"{key}: cannot narrow {tuple(tensor.shape)} to {tuple(target.shape)}; widths only grow")
        target[tuple(slice(0, n) for n in tensor.shape)] = tensor  # the old block in the leading corner
    for prefix, layers in (("analysis", model.analysis), ("synthesis", model.synthesis)):
        for _, _, consumer in _STAGES:
            key = f"{prefix}.{consumer}.weight"
            dim = _input_dim(layers[consumer])
            state[key].narrow(dim, old[key].shape[dim], state[key].shape[dim] - old[key].shape[dim]).zero_()
    return state


def main(argv=None) -> None:
    from safetensors.torch import save_file

    from .. import zoo
    from ..images import to_tensor
    from .calibrate import sample_crops

    ap = argparse.ArgumentParser(prog="python -m tilecodec.train.widen", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="bundled model to widen (its architecture and config)")
    ap.add_argument("--weights", help="its weights from this .safetensors file (e.g. a float16 copy) "
                                      "instead of the bundled file")
    ap.add_argument("--widths", type=int, nargs=3, required=True)
    ap.add_argument("--check", nargs="*", default=[], help="image folders: report the largest output change on a crop")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    if args.weights:
        from safetensors.torch import load_file

        entry = zoo.entry(args.model)
        model = build(entry.architecture, **entry.config).eval()
        model.load_weights({k: v.float() for k, v in load_file(args.weights).items()})
    else:
        model, entry = zoo.load_model(args.model)
    state = widen(model, entry.architecture, entry.config, args.widths)
    config = {**entry.config, "widths": args.widths}
    wide = build(entry.architecture, **config).eval()
    wide.load_weights(state)
    if args.check:
        x = to_tensor(sample_crops(args.check, 1, 256)[0], model.size_multiple)
        s = torch.full((1,), (len(model.lmbdas) - 1) / 2) if model.lmbdas else None
        with torch.no_grad():
            change = (wide(x, s)["x_hat"] - model(x, s)["x_hat"]).abs().max().item()
        print(f"largest change of the reconstruction on one crop: {change:.2e}")
    save_file({k: v.contiguous() for k, v in state.items()}, args.output)
    print(f"{args.output}: {entry.architecture} {config}")


if __name__ == "__main__":
    main()
