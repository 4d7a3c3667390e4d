"""Rate-distortion training: resumable, time-boxed, bf16 where it is faster, DDP under torchrun.

Loss: ``lmbda * D + bpp`` (Ballé et al.; see ``losses``); the factorized densities'
quantile (aux) loss has its own optimizer. With ``lmbdas`` (gain units, one model for
every rate), each crop of a batch draws a rate level and is weighted by that level's
lambda. Adam with linear warm-up then cosine decay, gradient clipping. Checkpoints
(model, optimizers, step, RNG state) are written atomically by rank 0; all ranks stop
together on the deadline or Ctrl-C, and each checkpoint records every replica's
parameter digest.
"""

import bisect
import copy
import csv
import io
import math
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import numerics
from ..files import atomic_write
from ..models import build
from ..models.base import upgrade_names
from . import distributed
from .data import RandomCrops
from ..losses import correlation_loss, rd_loss


@dataclass
class TrainConfig:
    data: list = field(default_factory=lambda: ["../shared/data/train"])
    architecture: str = "mean-scale-hyperprior"
    N: int = 128
    M: int = 192
    widths: list | None = None  # transform stage widths, full resolution inward (default N, N, N)
    hyper_widths: list | None = None  # the hyper-synthesis's hidden widths (default M, 3M/2)
    lmbda: float = 0.01
    lmbdas: list | None = None  # variable rate: one trained level per lambda (ascending)
    distortion: str = "mse"  # or "ms-ssim" (lambda then weights 1 - MS-SSIM)
    correlation: float = 0.0  # alpha of the latent correlation loss (Ali et al., 2023); 0 = off
    correlation_k: int = 5
    correlation_mask: list | None = None  # k*k weights; default: all but the centre
    crop: int = 256
    batch: int = 16
    lr: float = 8e-4
    warmup: int = 200
    steps: int = 20000
    anneal_by_deadline: bool = False  # cosine decay reaches its floor by --max-minutes even if steps remain
    clip: float = 1.0
    checkpoint_every_s: float = 300.0
    bf16: bool | None = None  # bf16 autocast; None: on GPUs and where numerics.bf16_pays measures a gain
    workers: int = 1
    seed: int = 0
    init: str | None = None  # start from these weights (a .safetensors file or a zoo model name)
    init_lmbda: float = 0.025  # the lambda the ``init`` weights were trained at (seeds new gains)
    train_only: list | None = None  # train only parameters whose names start so; the rest stays frozen
    eval_data: str | None = None  # held-out folder, coded with real bitstreams every eval_every steps
    eval_every: int = 1000
    eval_images: int = 4
    eval_qualities: tuple = (0, 33, 67, 100)

    def model_config(self) -> dict:
        return model_config(asdict(self))


def model_config(cfg: dict) -> dict:
    """The architecture's arguments from a training config (a ``TrainConfig`` as a dict)."""
    config = {"N": cfg["N"], "M": cfg["M"]}
    if cfg.get("lmbdas"):
        config["lmbdas"] = [float(v) for v in cfg["lmbdas"]]
    for key in ("widths", "hyper_widths"):
        if cfg.get(key):
            config[key] = [int(v) for v in cfg[key]]
    return config


def lr_at(step: int, cfg: TrainConfig, elapsed: float = 0.0) -> float:
    """Linear warm-up over ``cfg.warmup`` steps, then cosine decay to 2% of ``cfg.lr`` at
    ``cfg.steps`` or, if sooner, when ``elapsed`` (a fraction of the time budget) reaches 1."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, max((step - cfg.warmup) / max(1, cfg.steps - cfg.warmup), elapsed))
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def _initial_weights(source: str) -> tuple[dict, list | None]:
    """State dict from a .safetensors file or a bundled model's name, and the lambdas of
    its gain levels when the zoo knows them (None otherwise)."""
    from safetensors.torch import load_file

    from .. import zoo

    if source.endswith(".safetensors"):
        return load_file(Path(source)), None
    entry = zoo.entry(source)
    return zoo.load_weights(entry), entry.config.get("lmbdas")


def regrid_log_gains(log_gain: torch.Tensor, lmbdas: list, new_lmbdas: list) -> torch.Tensor:
    """Gains for ``new_lmbdas`` from trained ones at ``lmbdas``: linear in log lambda between
    the two nearest trained levels, extrapolated along the end segments outside them."""
    x = [math.log(v) for v in lmbdas]
    rows = []
    for t in (math.log(v) for v in new_lmbdas):
        i = min(max(bisect.bisect_left(x, t), 1), len(x) - 1)  # segment [i - 1, i]
        w = (t - x[i - 1]) / (x[i] - x[i - 1])
        rows.append((1 - w) * log_gain[i - 1].double() + w * log_gain[i].double())
    return torch.stack(rows).to(log_gain.dtype)


def _load_initial(model, weights: dict, init_lmbda: float, init_lmbdas: list | None = None) -> None:
    """Copy every tensor of ``weights`` whose name and shape fit ``model`` (another
    architecture shares its transforms and hyperprior). Gain units trained at other levels
    (``init_lmbdas``) are regridded to the model's; gains a single-rate model lacks start
    as step scaling around ``init_lmbda``. Fails if nothing fits."""
    own = model.state_dict()
    weights = upgrade_names(weights)
    if model.gain is not None and init_lmbdas:
        for key in [k for k in weights if k.endswith("gain.log_gain") and k in own]:
            weights[key] = regrid_log_gains(weights[key], init_lmbdas, model.lmbdas)
    fits = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    if not fits:
        raise ValueError("the initial weights share no tensor with this architecture")
    model.load_state_dict(fits, strict=False)
    if model.gain is not None and "gain.log_gain" not in fits:
        model.init_gains(init_lmbda)
    fresh = sorted({k.rsplit(".", 1)[0] for k, _ in model.named_parameters() if k not in fits})
    if fresh:
        tqdm.write(f"init: {len(fits)} of {len(own)} tensors loaded; fresh: {', '.join(fresh)}")


def _save_atomic(obj, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, [buffer.getbuffer()])


def _start(cfg: TrainConfig, checkpoint: Path, resume: bool, device):
    """The model and its two optimizers (rate-distortion, and the densities' quantiles) at the
    start of a run: from ``cfg.init`` weights, or from the checkpoint when resuming; and the
    step to continue from."""
    model = build(cfg.architecture, **cfg.model_config()).to(device, memory_format=torch.channels_last)
    if cfg.train_only:  # the densities' quantiles always follow the (possibly frozen) latents
        for name, p in model.named_parameters():
            p.requires_grad_(name.endswith("quantiles") or name.startswith(tuple(cfg.train_only)))
        if not any(p.requires_grad for n, p in model.named_parameters() if not n.endswith("quantiles")):
            raise ValueError(f"--train-only {' '.join(cfg.train_only)} names no parameter of {cfg.architecture}")
    opt = torch.optim.Adam([p for n, p in model.named_parameters() if not n.endswith("quantiles") and p.requires_grad],
                           lr=cfg.lr)
    aux_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n.endswith("quantiles")], lr=1e-3)
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_weights(state["model"])
        opt.load_state_dict(state["optimizer"])
        aux_opt.load_state_dict(state["aux_optimizer"])
        torch.set_rng_state(state["rng"])
        return model, opt, aux_opt, state["step"]
    if cfg.init:
        weights, init_lmbdas = _initial_weights(cfg.init)
        _load_initial(model, weights, cfg.init_lmbda, init_lmbdas)
    elif model.gain is not None:  # from scratch: levels apart from the first step, as step scaling
        model.init_gains(math.exp(sum(math.log(v) for v in model.lmbdas) / len(model.lmbdas)))
    return model, opt, aux_opt, 0


def _step(net, model, x, levels, cfg: TrainConfig, opt, aux_opt, autocast, mask):
    """One training step on batch ``x``: each crop draws a rate level, the rate-distortion loss
    (plus the correlation loss) under ``autocast``, a clipped Adam step, then the auxiliary
    (quantile) step. Returns (loss, the loss terms, aux loss)."""
    s = torch.randint(len(levels), (x.shape[0],), device=x.device) if levels is not None else None
    with autocast:
        out = net(x, s.float()) if s is not None else net(x)
    losses = rd_loss(out, x, levels[s] if s is not None else cfg.lmbda, cfg.distortion)
    loss = losses["loss"]
    if cfg.correlation:
        losses["corr"] = correlation_loss(out["normalized"], cfg.correlation_k, mask)
        loss = loss + cfg.correlation * losses["corr"]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], cfg.clip)
    opt.step()
    aux = model.aux_loss()
    aux_opt.zero_grad(set_to_none=True)
    aux.backward()
    distributed.average_gradients(aux_opt.param_groups[0]["params"])
    aux_opt.step()
    return loss, losses, aux


def train(cfg: TrainConfig, checkpoint: Path, resume: bool = False, max_minutes: float | None = None) -> Path:
    """Train until ``cfg.steps`` or ``max_minutes``; always leaves a complete checkpoint."""
    rank, world, device = distributed.setup()
    main = rank == 0
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed crop size: pick the fastest kernels once
    torch.manual_seed(cfg.seed)
    model, opt, aux_opt, step = _start(cfg, checkpoint, resume, device)
    torch.manual_seed(torch.initial_seed() + step + rank)  # each rank (and each resume) draws its own crops
    net = distributed.wrap(model, [n for n, _ in model.named_parameters() if n.endswith("quantiles")])
    data = DataLoader(RandomCrops(cfg.data, cfg.crop), batch_size=cfg.batch, num_workers=cfg.workers,
                      persistent_workers=cfg.workers > 0)
    log = _Log(checkpoint, cfg, resume) if main else None
    evaluator = Evaluator(cfg, checkpoint.with_suffix(".eval.csv"), resume) if cfg.eval_data and main else None
    levels = torch.tensor(cfg.lmbdas, dtype=torch.float32, device=device) if cfg.lmbdas else None
    mask = torch.tensor(cfg.correlation_mask, dtype=torch.float32) if cfg.correlation_mask else None
    bf16 = cfg.bf16 if cfg.bf16 is not None else device.type == "cuda" or numerics.bf16_pays()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def save():
        digests = distributed.gather_digests(model)
        if main:
            _save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(),
                          "aux_optimizer": aux_opt.state_dict(), "step": step, "rng": torch.get_rng_state(),
                          "config": asdict(cfg), "replica_digests": digests}, checkpoint)

    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    start = last_save = time.time()
    deadline = start + max_minutes * 60 if max_minutes else float("inf")

    def progress() -> float:  # fraction of the time budget spent, when the schedule follows it
        return (time.time() - start) / (max_minutes * 60) if cfg.anneal_by_deadline and max_minutes else 0.0

    model.train()
    bar = tqdm(total=cfg.steps, initial=step, dynamic_ncols=True, disable=not main)
    it = iter(data)
    while step < cfg.steps and not distributed.any_true(stop["now"] or time.time() > deadline, device):
        x = next(it).to(device).contiguous(memory_format=torch.channels_last)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg, progress())
        loss, losses, aux = _step(net, model, x, levels, cfg, opt, aux_opt, autocast, mask)
        step += 1
        psnr = -10 * math.log10(max(losses["mse"].item(), 1e-10))
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", bpp=f"{losses['bpp'].item():.3f}", psnr=f"{psnr:.2f}")
        if main and step % 50 == 0:
            log.write(step, time.time() - start, lr_at(step, cfg, progress()), loss.item(), losses["bpp"].item(), psnr,
                      aux.item(), losses.get("corr"))
        if step % cfg.eval_every == 0 and cfg.eval_data:
            if evaluator:
                evaluator(model, step, log.board)
                model.train()
            if distributed.active():
                torch.distributed.barrier()
        if distributed.any_true(time.time() - last_save > cfg.checkpoint_every_s, device):
            save()
            last_save = time.time()
    save()
    bar.close()
    if main:
        log.close()
    if evaluator:
        evaluator.close()
    distributed.cleanup()
    return checkpoint


class _Log:
    """CSV (``CKPT.csv``) and TensorBoard (``CKPT.tb/``) logs of the training curves."""

    def __init__(self, checkpoint: Path, cfg: TrainConfig, resume: bool):
        from torch.utils.tensorboard import SummaryWriter

        path = checkpoint.with_suffix(".csv")
        new = not (resume and path.exists())
        self.file = open(path, "w" if new else "a", newline="")  # noqa: SIM115 (open for the run)
        self.csv = csv.writer(self.file)
        if new:
            self.csv.writerow(["step", "seconds", "lr", "loss", "bpp", "psnr", "aux"])
        self.board = SummaryWriter(str(checkpoint.with_suffix(".tb")))

    def write(self, step, seconds, lr, loss, bpp, psnr, aux, corr=None):
        self.csv.writerow([step, round(seconds), f"{lr:.2e}", f"{loss:.4f}", f"{bpp:.4f}", f"{psnr:.2f}", f"{aux:.1f}"])
        self.file.flush()
        for k, v in {"loss": loss, "bpp": bpp, "psnr": psnr, "aux": aux, "lr": lr}.items():
            self.board.add_scalar(f"train/{k}", v, step)
        if corr is not None:
            self.board.add_scalar("train/correlation", float(corr), step)
        self.board.flush()

    def close(self):
        self.file.close()
        self.board.close()


class Evaluator:
    """Codes held-out images with real bitstreams (actual bpp, PSNR, MS-SSIM) and logs them."""

    def __init__(self, cfg: TrainConfig, path: Path, resume: bool):
        from ..images import find_images

        self.cfg = cfg
        self.images = [np.asarray(Image.open(p).convert("RGB")) for p in find_images([cfg.eval_data])[: cfg.eval_images]]
        new = not (resume and path.exists())
        self.file = open(path, "w" if new else "a", newline="")  # noqa: SIM115 (open for the run)
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow(["step", "quality", "bpp", "psnr", "ms_ssim"])

    @torch.no_grad()
    def __call__(self, model, step: int, board=None) -> None:
        from ..api import Codec
        from ..metrics import ms_ssim, psnr

        if next(model.parameters()).device.type != "cpu":
            model = copy.deepcopy(model).cpu()
        model.eval()
        model.update_tables()
        codec = Codec.from_model(model, "training")
        for q in self.cfg.eval_qualities:
            rows = []
            for img in self.images:
                data = codec.compress(img, quality=q)
                out = codec.decompress(data)
                rows.append((8 * len(data) / (img.shape[0] * img.shape[1]), psnr(img, out), ms_ssim(img, out)))
            bpp, p, m = (float(np.mean(v)) for v in zip(*rows))
            self.writer.writerow([step, q, f"{bpp:.4f}", f"{p:.2f}", f"{m:.4f}"])
            tqdm.write(f"eval step {step} quality {q}: {bpp:.3f} bpp, {p:.2f} dB, MS-SSIM {m:.4f}")
            if board is not None:
                for k, v in {"bpp": bpp, "psnr": p, "ms_ssim": m}.items():
                    board.add_scalar(f"eval/q{q:g}/{k}", v, step)
        self.file.flush()

    def close(self) -> None:
        self.file.close()
