"""Training the recurrent progressive codec's networks (``models.recurrent``) on random 32x32
patches of training photos: the L1 error of every iteration's reconstruction (Toderici et al.
2017 train on the residuals' L1), so that each prefix of the code is a good code.

With intra prediction (``prediction``, as ``models.progressive`` codes it), the networks code
the target block of 96x64 windows from a prediction: the four neighbours are first coded by the
networks themselves for one iteration (no gradients, rounded to 8 bits), since the codec
predicts from first-iteration reconstructions, and the bundled predictors (frozen) predict the
target from them. "single": the inpainting predictor's prediction. "multi": the candidate the
multi-mode encoder would be likeliest to pick, the one of none, the two learned predictors and
the 35 HEVC modes nearest the target, except that a fifth of the blocks start from none so that
the networks keep coding from mid-grey too. (The neighbours' own predictions are left out: an
approximation that makes them a little worse than the codec's.)

``train_recurrent`` is time-boxed and writes one safetensors file (float16 weights; width and
iterations in its metadata) and a CSV log beside it; ``models.recurrent.load_recurrent`` reads it back.
"""

import math
import time
from pathlib import Path

import torch

from ..intra import hevc
from ..intra.learned import bundled, windows
from ..models.patch_vae import MISSING, inpainting_context
from ..models.progressive import PREDICTIONS
from ..models.recurrent import PATCH, RecurrentCodecNet, load_recurrent
from .data import batches
from .schedule import cosine, progress
from .intra import write_weights


NONE_SHARE = 0.2  # multi-mode training: blocks that start from mid-grey whatever predicts best


def _window_hevc(decoded: torch.Tensor) -> torch.Tensor:
    """HEVC's 35 predictions of the target block of windows whose four neighbours are
    ``decoded`` (N x 4 x 3 x 32 x 32 in [0, 1]): N x 35 x 3 x 32 x 32."""
    n, b = len(decoded), PATCH
    samples = torch.zeros(n, 3, 2 * b, 3 * b)
    top_left, top, top_right, left = torch.round(decoded.cpu() * 255).unbind(1)
    samples[:, :, :b] = torch.cat([top_left, top, top_right], 3)
    samples[:, :, b:, :b] = left
    known = torch.zeros(2 * b, 3 * b, dtype=torch.bool)
    known[:b] = True
    known[b:, :b] = True
    lines = hevc.reference_lines(samples.flatten(0, 1), known, [(b, b)], b).view(n, 3, -1)
    return (hevc.predict(lines).float() / 255).to(decoded.device)


def starts(net: RecurrentCodecNet, images: torch.Tensor, prediction: str, predictors: dict):
    """(target blocks, the predictions they are coded from) for N x 3 x 64 x 96 windows."""
    _, neighbours, target = windows(images)
    training = net.training
    with torch.no_grad():
        net.eval()
        _, first = net(neighbours.flatten(0, 1), 1)
        net.train(training)
        decoded = (torch.round(first[0].clamp(0, 1) * 255) / 255).view_as(neighbours)
        inpainting = predictors["inpainting"](inpainting_context(decoded))
        if prediction == "single":
            return target, inpainting
        options = torch.cat([torch.full_like(target, MISSING)[:, None], inpainting[:, None],
                             predictors["extended"](decoded)[:, None], _window_hevc(decoded)], 1)
        pick = ((options - target[:, None]) ** 2).flatten(2).mean(2).argmin(1)
        pick[torch.rand(len(pick), device=pick.device) < NONE_SHARE] = 0
        return target, options[torch.arange(len(pick)), pick]


def train_recurrent(folders, out, steps: int = 20000, batch: int = 32, iterations: int = 16, lr: float = 5e-4,
                    width: int = 32, max_minutes: float | None = None, workers: int = 2, log_every: int = 100,
                    log=print, seed: int = 0, prediction: str = "none", init=None) -> dict:
    """Train on ``batch`` patches a step for ``iterations`` iterations (on the GPU when PyTorch
    sees one, data cut by ``workers`` processes); cosine learning-rate decay over ``steps`` or
    ``max_minutes`` (``schedule``), stopping at whichever ends first. ``prediction``: "none",
    "single" or "multi" (the blocks are coded from predictions, as above); ``init``: start from
    the networks of this file (written by this trainer) or recurrent model (a name or file;
    ``width`` is then theirs). Writes ``out`` and ``out`` with .csv (step, seconds, lr, the mean
    L1 per iteration summed, PSNR after the last iteration); returns the last logged row."""
    if prediction not in PREDICTIONS:
        raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
    torch.manual_seed(seed)
    out = Path(out)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed sizes: pick the fastest kernels once
    net = _initial(init, width).train().to(device)
    width = net.e_conv.out_channels
    predictors = {} if prediction == "none" else \
        {k: bundled(k).to(device).requires_grad_(False) for k in ("inpainting", "extended")}
    data = batches(folders, 96 if predictors else PATCH, batch, workers)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    start, rows, losses, last_mse = time.monotonic(), [], [], []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = cosine(lr, progress(step, steps, time.monotonic() - start, max_minutes))
        if predictors:
            x, start_from = starts(net, next(data)[:, :, :64].to(device), prediction, predictors)
        else:
            x, start_from = next(data).to(device), None
        _, outputs = net(x, iterations, start=start_from)
        loss = sum((o - x).abs().mean() for o in outputs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        last_mse.append(float(((outputs[-1].detach().clamp(0, 1) - x) ** 2).mean()))
        elapsed = time.monotonic() - start
        stop = max_minutes is not None and elapsed > 60 * max_minutes
        if step % log_every == 0 or step == steps or stop:
            mse = sum(last_mse) / len(last_mse)
            rows.append({"step": step, "seconds": round(elapsed, 1), "lr": opt.param_groups[0]["lr"],
                         "l1_sum": sum(losses) / len(losses), "psnr_last": 10 * math.log10(1 / max(mse, 1e-10))})
            losses, last_mse = [], []
            log(f"recurrent step {step}: L1 sum {rows[-1]['l1_sum']:.4f}, {rows[-1]['psnr_last']:.2f} dB "
                f"after {iterations} iterations")
        if stop:
            break
    write_weights(out, net.state_dict(), "recurrent", {"width": width, "iterations": iterations,
                                                       "steps": rows[-1]["step"], "prediction": prediction}, rows)
    return rows[-1]


def _initial(init, width: int) -> RecurrentCodecNet:
    """Fresh networks of ``width``, or those of ``init`` (a trainer's file or a recurrent model)."""
    if init is None:
        return RecurrentCodecNet(width=width)
    from safetensors import safe_open

    from .. import zoo
    from ..errors import ModelError

    path = Path(str(init))
    if path.suffix == ".safetensors" and path.is_file():
        with safe_open(str(path), "pt") as f:
            if "recurrent" in (f.metadata() or {}):
                return load_recurrent(path)
    model, entry = zoo.load_model(str(init))
    if entry.architecture != "recurrent":
        raise ModelError(f"{init} is a {entry.architecture} model, not a recurrent one")
    return model.net
