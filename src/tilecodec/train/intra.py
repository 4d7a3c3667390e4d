"""Training the learned intra predictors (``tilecodec.intra.learned``) on random 96x64 windows
of training photos: the target block's MSE against its prediction from original neighbours.

``train_intra`` is time-boxed and writes one safetensors file (atomically; weights in float16)
with the predictor's kind and width in its metadata, plus a CSV log beside it; ``intra.learned.load_predictor``
reads it back.
"""

import csv
import json
import math
import time
from pathlib import Path

import torch
from safetensors.torch import save

from ..files import atomic_write
from ..intra.learned import ExtendedContextPredictor, build_predictor, windows
from .data import batches
from .schedule import cosine, progress


def predict(model, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(prediction, target) for N x 3 x 64 x 96 windows."""
    context, neighbours, target = windows(images)
    return model(neighbours if isinstance(model, ExtendedContextPredictor) else context), target


def train_intra(kind: str, folders, out, steps: int = 20000, batch: int = 32, lr: float = 2e-4,
                width: int = 64, max_minutes: float | None = None, workers: int = 2,
                log_every: int = 100, log=print, seed: int = 0) -> dict:
    """Train a ``kind`` predictor ("inpainting" or "extended") on windows from ``folders``, on
    the GPU when PyTorch sees one, data cut by ``workers`` processes; cosine learning-rate
    decay over ``steps`` or ``max_minutes`` (``schedule``), stopping at whichever ends first.
    Writes ``out`` (.safetensors) and ``out`` with .csv (step, seconds, lr, mse, PSNR of the
    prediction); returns the last logged row."""
    torch.manual_seed(seed)
    out = Path(out)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed sizes: pick the fastest kernels once
    model = build_predictor(kind, width).to(device)
    data = batches(folders, 96, batch, workers)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start, rows, running = time.monotonic(), [], []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = cosine(lr, progress(step, steps, time.monotonic() - start, max_minutes))
        images = next(data)[:, :, :64].to(device)
        prediction, target = predict(model, images)
        loss = torch.mean((prediction - target) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        running.append(loss.item())
        elapsed = time.monotonic() - start
        stop = max_minutes is not None and elapsed > 60 * max_minutes
        if step % log_every == 0 or step == steps or stop:
            mse = sum(running) / len(running)
            rows.append({"step": step, "seconds": round(elapsed, 1), "lr": opt.param_groups[0]["lr"],
                         "mse": mse, "psnr": 10 * math.log10(1 / max(mse, 1e-10))})
            running = []
            log(f"{kind} step {step}: mse {mse:.5f} ({rows[-1]['psnr']:.2f} dB)")
        if stop:
            break
    write_weights(out, model.state_dict(), "intra", {"kind": kind, "width": width, "steps": rows[-1]["step"]}, rows)
    return rows[-1]


def write_weights(out: Path, state: dict, key: str, meta: dict, rows: list, dtype=torch.float16) -> None:
    """The tensors of ``state`` (floating ones in ``dtype``) to ``out`` (atomically), ``meta``
    as JSON under the metadata ``key``, and the training log ``rows`` to ``out`` with .csv."""
    state = {k: (v.to(dtype) if v.is_floating_point() else v).cpu().contiguous() for k, v in state.items()}
    atomic_write(out, [save(state, metadata={key: json.dumps(meta)})])
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
