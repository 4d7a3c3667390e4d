"""Start a narrow (fast) model from a trained wide one by channel pruning.

Every hidden stage of the transforms and of the hyper-synthesis keeps the channels that
carry the most signal into the next layer: importance = RMS activation of the channel on
sample crops x the norm of the next layer's weights reading it (the magnitude criterion
of Li et al., "Pruning filters for efficient ConvNets", ICLR 2017, weighted by the
activations). The producing conv keeps those output channels, GDN keeps the matching
rows and columns of gamma, the consuming conv keeps those inputs. All other tensors
(hyper-analysis, densities, gains) are copied. The result is a starting point for
``tilecodec train --init``, not a finished model: fine-tuning recovers the loss.

    python -m tilecodec.train.prune ckbd-mse --widths 64 64 128 --hyper-widths 128 192 \\
        --data ../shared/data/train -o student.safetensors
"""

import argparse

import torch
from torch import nn

from ..images import to_tensor
from ..models import build
from .calibrate import sample_crops

# (hidden stage's activation index, producer index, consumer index) in each Sequential
_STAGES = ((1, 0, 2), (3, 2, 4), (5, 4, 6))
_HYPER_STAGES = ((1, 0, 2), (3, 2, 4))


def _input_dim(layer: nn.Module) -> int:
    """The weight dimension that indexes a layer's input channels."""
    return 0 if isinstance(layer, nn.ConvTranspose2d) else 1


def _output_dim(layer: nn.Module) -> int:
    return 1 if isinstance(layer, nn.ConvTranspose2d) else 0


@torch.no_grad()
def _activation_rms(layers: nn.Sequential, x: torch.Tensor, indices) -> dict[int, torch.Tensor]:
    """Per-channel RMS of the outputs of ``layers[i]`` for i in ``indices``."""
    rms = {}
    for i, layer in enumerate(layers):
        x = layer(x)
        if i in indices:
            rms[i] = x.square().mean(dim=(0, 2, 3)).sqrt()
    return rms


def keep_channels(layers: nn.Sequential, rms: dict, stages, widths) -> dict[int, torch.Tensor]:
    """For each (activation, producer, consumer) stage, the ``width`` most important channels (sorted)."""
    keep = {}
    for (act, _, consumer), width in zip(stages, widths):
        w = layers[consumer].weight
        other = tuple(d for d in range(w.dim()) if d != _input_dim(layers[consumer]))
        importance = rms[act] * w.square().sum(dim=other).sqrt()
        keep[act] = importance.topk(width).indices.sort().values
    return keep


def _slice(state: dict, prefix: str, layers: nn.Sequential, stages, keep: dict) -> None:
    for act, producer, consumer in stages:
        idx = keep[act]
        p, c = layers[producer], layers[consumer]
        state[f"{prefix}.{producer}.weight"] = state[f"{prefix}.{producer}.weight"].index_select(_output_dim(p), idx)
        state[f"{prefix}.{producer}.bias"] = state[f"{prefix}.{producer}.bias"][idx]
        if f"{prefix}.{act}.gamma" in state:  # GDN / IGDN between them
            state[f"{prefix}.{act}.beta"] = state[f"{prefix}.{act}.beta"][idx]
            state[f"{prefix}.{act}.gamma"] = state[f"{prefix}.{act}.gamma"][idx][:, idx]
        state[f"{prefix}.{consumer}.weight"] = state[f"{prefix}.{consumer}.weight"].index_select(_input_dim(c), idx)


@torch.no_grad()
def prune(model, crops, widths, hyper_widths=None) -> dict:
    """The state dict of ``model`` narrowed to ``widths`` (3 transform stages, full resolution
    inward) and ``hyper_widths`` (2 hyper-synthesis stages), ranked on the 256x256 ``crops``."""
    x = torch.cat([to_tensor(c, model.size_multiple)[..., :256, :256] for c in crops if min(c.shape[:2]) >= 256])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    latent = model.latent_codec
    y = model.analysis(x)
    y_hat = torch.round(y)
    z = latent.hyper_analysis(y)
    if model.gain is not None:  # the latents as coded at the middle rate level
        s = torch.full((len(x),), (len(model.lmbdas) - 1) / 2)
        y_hat = model.inverse_gain(torch.round(model.gain(y, s)), s)
        z = latent.z_gain(z, s)
    z_hat = latent.z.density.quantize(z, noise=False)
    if model.gain is not None:
        z_hat = latent.z_inverse_gain(z_hat, s)
    plans = [("analysis", model.analysis, x, _STAGES, widths),
             ("synthesis", model.synthesis, y_hat, _STAGES, tuple(reversed(widths)))]
    if hyper_widths:
        plans.append(("latent_codec.hyper_synthesis", latent.hyper_synthesis, z_hat, _HYPER_STAGES, hyper_widths))
    for prefix, layers, inputs, stages, sizes in plans:
        rms = _activation_rms(layers, inputs, {s[0] for s in stages})
        _slice(state, prefix, layers, stages, keep_channels(layers, rms, stages, sizes))
    return state


def main(argv=None) -> None:
    from safetensors.torch import save_file

    from .. import zoo

    ap = argparse.ArgumentParser(prog="python -m tilecodec.train.prune", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="bundled model to narrow")
    ap.add_argument("--widths", type=int, nargs=3, required=True)
    ap.add_argument("--hyper-widths", type=int, nargs=2, default=None)
    ap.add_argument("--data", nargs="+", required=True, help="training image folders (never the eval set)")
    ap.add_argument("--crops", type=int, default=16)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    model, entry = zoo.load_model(args.model)
    state = prune(model, sample_crops(args.data, args.crops, 256), args.widths, args.hyper_widths)
    config = {**entry.config, "widths": args.widths, **({"hyper_widths": args.hyper_widths} if args.hyper_widths else {})}
    build(entry.architecture, **config).load_weights(state)  # the narrowed tensors fit the narrow model
    save_file({k: v.contiguous() for k, v in state.items()}, args.output)
    print(f"{args.output}: {entry.architecture} {config}")


if __name__ == "__main__":
    main()
