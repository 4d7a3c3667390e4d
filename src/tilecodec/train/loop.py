"""Rate-distortion training: resumable, time-boxed, bf16 on CPU.

Loss: ``lmbda * 255^2 * MSE + bpp`` (Ballé et al.); the factorized densities' quantile
(aux) loss has its own optimizer. Adam with linear warm-up then cosine decay, gradient
clipping. Checkpoints (model, optimizers, step, RNG state) are written atomically.
"""

import csv
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..models import build
from .data import RandomCrops


@dataclass
class TrainConfig:
    data: list = field(default_factory=lambda: ["../shared/data/train"])
    architecture: str = "mean-scale-hyperprior"
    N: int = 128
    M: int = 192
    lmbda: float = 0.01
    crop: int = 128
    batch: int = 16
    lr: float = 8e-4
    warmup: int = 200
    steps: int = 20000
    clip: float = 1.0
    checkpoint_every_s: float = 300.0
    bf16: bool = True
    workers: int = 1
    seed: int = 0
    init: str | None = None  # start from these weights (a .safetensors file or a zoo model name)


def rd_loss(out: dict, x: torch.Tensor, lmbda: float) -> dict:
    """``lmbda * 255^2 * mse + bpp`` with bpp from the likelihoods (float32)."""
    pixels = x.shape[0] * x.shape[2] * x.shape[3]
    bpp = sum(-torch.log2(lik).sum() for lik in out["likelihoods"].values()) / pixels
    mse = torch.mean((out["x_hat"].float() - x) ** 2)
    return {"loss": lmbda * 255**2 * mse + bpp, "bpp": bpp, "mse": mse}


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def _initial_weights(source: str) -> dict:
    """State dict from a .safetensors file or a bundled model's name."""
    from safetensors.torch import load_file

    from .. import zoo

    path = Path(source) if source.endswith(".safetensors") else zoo.entry(source).path
    return load_file(path)


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(cfg: TrainConfig, checkpoint: Path, resume: bool = False, max_minutes: float | None = None) -> Path:
    """Train until ``cfg.steps`` or ``max_minutes``; always leaves a complete checkpoint."""
    torch.manual_seed(cfg.seed)
    model = build(cfg.architecture, N=cfg.N, M=cfg.M).to(memory_format=torch.channels_last)
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(main_params, lr=cfg.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-3)
    step = 0
    if cfg.init and not (resume and checkpoint.exists()):
        model.load_state_dict(_initial_weights(cfg.init))
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        aux_opt.load_state_dict(state["aux_optimizer"])
        step = state["step"]
        torch.set_rng_state(state["rng"])
    data = DataLoader(RandomCrops(cfg.data, cfg.crop), batch_size=cfg.batch, num_workers=cfg.workers,
                      persistent_workers=cfg.workers > 0)
    log_path = checkpoint.with_suffix(".csv")
    new_log = not log_path.exists() or not resume
    log = open(log_path, "w" if new_log else "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "seconds", "lr", "loss", "bpp", "psnr", "aux"])

    def save():
        _save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(),
                      "aux_optimizer": aux_opt.state_dict(), "step": step, "rng": torch.get_rng_state(),
                      "config": asdict(cfg)}, checkpoint)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    start = last_save = time.time()
    deadline = start + max_minutes * 60 if max_minutes else float("inf")
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, dynamic_ncols=True)
    it = iter(data)
    while step < cfg.steps and not stop["now"] and time.time() < deadline:
        x = next(it).contiguous(memory_format=torch.channels_last)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            out = model(x)
        losses = rd_loss(out, x, cfg.lmbda)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(main_params, cfg.clip)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad(set_to_none=True)
        aux.backward()
        aux_opt.step()
        step += 1
        psnr = -10 * math.log10(max(losses["mse"].item(), 1e-10))
        bar.update(1)
        bar.set_postfix(loss=f"{losses['loss'].item():.3f}", bpp=f"{losses['bpp'].item():.3f}", psnr=f"{psnr:.2f}")
        if step % 50 == 0:
            writer.writerow([step, round(time.time() - start), f"{lr_at(step, cfg):.2e}", f"{losses['loss'].item():.4f}",
                             f"{losses['bpp'].item():.4f}", f"{psnr:.2f}", f"{aux.item():.1f}"])
            log.flush()
        if time.time() - last_save > cfg.checkpoint_every_s:
            save()
            last_save = time.time()
    save()
    bar.close()
    log.close()
    return checkpoint
