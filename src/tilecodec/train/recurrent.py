"""Training the recurrent progressive codec's networks (``models.recurrent``) on random 32x32
patches of training photos: the L1 error of every iteration's reconstruction (Toderici et al.
2017 train on the residuals' L1), so that each prefix of the code is a good code.

``train_recurrent`` is time-boxed and writes one safetensors file (float16 weights; width and
iterations in its metadata) and a CSV log beside it; ``models.recurrent.load_recurrent`` reads it back.
"""

import math
import time
from pathlib import Path

import torch
from ..models.recurrent import PATCH, RecurrentCodecNet
from .data import batches
from .schedule import cosine, progress
from .intra import write_weights


def train_recurrent(folders, out, steps: int = 20000, batch: int = 32, iterations: int = 16, lr: float = 5e-4,
                    width: int = 32, max_minutes: float | None = None, workers: int = 2, log_every: int = 100,
                    log=print, seed: int = 0) -> dict:
    """Train on ``batch`` patches a step for ``iterations`` iterations (on the GPU when PyTorch
    sees one, data cut by ``workers`` processes); cosine learning-rate decay over ``steps`` or
    ``max_minutes`` (``schedule``), stopping at whichever ends first. Writes ``out`` and
    ``out`` with .csv (step, seconds, lr, the mean L1 per iteration summed, PSNR after the last
    iteration); returns the last logged row."""
    torch.manual_seed(seed)
    out = Path(out)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed sizes: pick the fastest kernels once
    net = RecurrentCodecNet(width=width).train().to(device)
    data = batches(folders, PATCH, batch, workers)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    start, rows, losses, last_mse = time.monotonic(), [], [], []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = cosine(lr, progress(step, steps, time.monotonic() - start, max_minutes))
        x = next(data).to(device)
        _, outputs = net(x, iterations)
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
    write_weights(out, net.state_dict(), "recurrent", {"width": width, "iterations": iterations, "steps": rows[-1]["step"]}, rows)
    return rows[-1]

