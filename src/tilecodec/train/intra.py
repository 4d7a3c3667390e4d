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
from .data import RandomCrops


def predict(model, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(prediction, target) for N x 3 x 64 x 96 windows."""
    context, neighbours, target = windows(images)
    return model(neighbours if isinstance(model, ExtendedContextPredictor) else context), target


def train_intra(kind: str, folders, out, steps: int = 20000, batch: int = 32, lr: float = 2e-4,
                width: int = 64, max_minutes: float | None = None, log_every: int = 100,
                log=print, seed: int = 0) -> dict:
    """Train a ``kind`` predictor ("inpainting" or "extended") on windows from ``folders``, on
    the GPU when PyTorch sees one;
    cosine learning-rate decay over ``steps``, stopping early at ``max_minutes``. Writes
    ``out`` (.safetensors) and ``out`` with .csv (step, seconds, lr, mse, PSNR of the
    prediction); returns the last logged row."""
    torch.manual_seed(seed)
    out = Path(out)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_predictor(kind, width).to(device)
    data = RandomCrops(folders, crop=96)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    start, rows, running = time.monotonic(), [], []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / steps))
        images = torch.stack([data[0] for _ in range(batch)])[:, :, :64].to(device)
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
    write_weights(out, model, "intra", {"kind": kind, "width": width, "steps": rows[-1]["step"]}, rows)
    return rows[-1]


def write_weights(out: Path, module, key: str, meta: dict, rows: list) -> None:
    """``module``'s tensors in float16 to ``out`` (atomically), ``meta`` as JSON under the
    metadata ``key``, and the training log ``rows`` to ``out`` with .csv."""
    state = {k: v.half().cpu().contiguous() for k, v in module.state_dict().items()}
    atomic_write(out, [save(state, metadata={key: json.dumps(meta)})])
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
