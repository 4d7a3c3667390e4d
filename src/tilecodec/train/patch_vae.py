"""Training the variational patch codecs (``models.patch_vae``) on 160x96 windows of training
photos: a grid of 3 x 5 patches of 32 px whose patch (2, 2) is the target. Its neighbours are
(1, 1), (1, 2), (1, 3) and (2, 1), and theirs all lie inside the window, so that
**closed-loop** training (the thesis's "moving target") can code the four neighbours first
with the current model, without gradients, from their own clean neighbours, and train the
target's prediction and residual coding on those reconstructions, as the decoder will see
them. Open loop predicts from the original neighbours.

Each window draws a rate level (gain units) and loses neighbours at random, as at image
borders and in raster order (top row, left column, or top-right missing: ``MISSING`` grey).
Loss: ``lambda * 255^2 * MSE + bpp`` over the target patch; the densities' quantiles have
their own optimizer. ``train_patch_vae`` is time-boxed, uses the GPU when PyTorch sees one,
and writes one safetensors file (float16 weights, the configuration in its metadata) and a
CSV log beside it; ``models.patch_vae.load_patch_codec`` reads it back.
"""

import json
import math
import time
from pathlib import Path

import torch
from ..losses import rd_loss
from ..models.patch_vae import BLOCK as PATCH, MISSING, PredictivePatchCodec
from .data import batches
from .schedule import cosine, progress
from .intra import write_weights

LMBDAS = (0.0004, 0.0009, 0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483)
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1))  # top-left, top, top-right, left
WINDOW_ROWS, WINDOW_COLS, TARGET = 3, 5, (2, 2)


def _block(windows: torch.Tensor, r: int, c: int) -> torch.Tensor:
    return windows[:, :, r * PATCH: (r + 1) * PATCH, c * PATCH: (c + 1) * PATCH]


def neighbours_of(windows: torch.Tensor, r: int, c: int) -> torch.Tensor:
    """N x 4 x 3 x 32 x 32: the neighbours of patch (r, c) of N x 3 x 96 x 160 windows."""
    return torch.stack([_block(windows, r + dr, c + dc) for dr, dc in NEIGHBOURS], 1)


def drop_neighbours(neighbours: torch.Tensor, p: float = 0.15) -> torch.Tensor:
    """Some windows lose their top row, left column or top-right neighbour (set to ``MISSING``)."""
    n = len(neighbours)
    out = neighbours.clone()
    top, left, right = (torch.rand(n, device=out.device) < p for _ in range(3))
    out[top | left, 0] = MISSING
    out[top, 1] = MISSING
    out[top | right, 2] = MISSING
    out[left, 3] = MISSING
    return out


@torch.no_grad()
def decoded_neighbours(model: PredictivePatchCodec, windows: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The target's four neighbours as the current model reconstructs them (rounded latents),
    each predicted from its own original neighbours, at the target's rate level ``s``."""
    r0, c0 = TARGET
    blocks = [(r0 + dr, c0 + dc) for dr, dc in NEIGHBOURS]
    context = torch.cat([neighbours_of(windows, r, c) for r, c in blocks])
    x = torch.cat([_block(windows, r, c) for r, c in blocks])
    levels = s.repeat(len(blocks)) if s is not None else None
    reconstruction = model.forward_blocks(context, x, levels)["x_hat"].clamp(0, 1)
    return reconstruction.view(len(blocks), len(windows), *x.shape[1:]).transpose(0, 1)


def train_patch_vae(folders, out, predictor: str = "embedded", closed_loop: bool = False, hyperprior: bool = False,
                    lmbdas=LMBDAS, N: int = 128, M: int = 128, width: int = 64, steps: int = 20000,
                    batch: int = 32, lr: float = 5e-4, max_minutes: float | None = None, workers: int = 2,
                    closed_loop_after: int = 500, log_every: int = 100, log=print, seed: int = 0,
                    init: str | None = None) -> dict:
    """Train a patch codec with ``predictor`` ("none", "pretrained": the bundled inpainting
    predictor, frozen, or "embedded", of ``width``), from scratch or, with ``init`` (a
    predictive-patch model's name or path), from that model's weights: its predictor, widths
    and hyperprior replace the arguments, ``lmbdas`` must have as many levels as it has (their
    gains start from its gains), its per-level densities are dropped, and closed loop starts
    at once. With
    ``closed_loop``, from the ``closed_loop_after``-th step on, targets are predicted from the
    model's own reconstructions of their neighbours. Cosine learning-rate decay over ``steps`` or ``max_minutes`` (``schedule``),
    stopping early at ``max_minutes``. Writes ``out`` and its .csv log (step, seconds, lr, loss,
    bpp and PSNR of the target patch, PSNR of the prediction); returns the last logged row."""
    torch.manual_seed(seed)
    out = Path(out)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed sizes: pick the fastest kernels once
    pretrained, start_state = None, None
    if init is not None:
        predictor, N, M, width, hyperprior, start_state = _init_from(init, len(lmbdas))
        closed_loop_after = 0
    elif predictor == "pretrained":
        from ..intra.learned import bundled
        pretrained = bundled("inpainting")
        width = pretrained.encoder[0].out_channels
    model = PredictivePatchCodec(N, M, list(lmbdas), hyperprior, predictor, width)
    model.init_gains(0.0067)
    if pretrained is not None:
        model.predictor.load_state_dict(pretrained.state_dict())
    if start_state is not None:
        model.load_state_dict(start_state)
    model = model.to(device)
    params = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith("quantiles")]
    opt = torch.optim.Adam(params, lr=lr)
    aux_opt = torch.optim.Adam([p for n, p in model.named_parameters() if n.endswith("quantiles")], lr=1e-3)
    levels = torch.tensor(lmbdas, device=device)
    data = batches(folders, WINDOW_COLS * PATCH, batch, workers)
    start, rows, acc = time.monotonic(), [], {}
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = cosine(lr, progress(step, steps, time.monotonic() - start, max_minutes))
        windows = next(data)[:, :, : WINDOW_ROWS * PATCH].to(device, non_blocking=True)
        s = torch.randint(len(lmbdas), (len(windows),), device=device)
        x = _block(windows, *TARGET)
        loop = closed_loop and step > closed_loop_after
        context = decoded_neighbours(model, windows, s.float()) if loop else neighbours_of(windows, *TARGET)
        result = model.forward_blocks(drop_neighbours(context), x, s.float())
        losses = rd_loss(result, x, levels[s])
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad(set_to_none=True)
        aux.backward()
        aux_opt.step()
        prediction_mse = float(((result["prediction"].detach() - x) ** 2).mean())
        for key, value in (("loss", losses["loss"].item()), ("bpp", losses["bpp"].item()),
                           ("mse", losses["mse"].item()), ("prediction_mse", prediction_mse)):
            acc.setdefault(key, []).append(value)
        elapsed = time.monotonic() - start
        stop = max_minutes is not None and elapsed > 60 * max_minutes
        if step % log_every == 0 or step == steps or stop:
            mean = {k: sum(v) / len(v) for k, v in acc.items()}
            rows.append({"step": step, "seconds": round(elapsed, 1), "lr": opt.param_groups[0]["lr"],
                         "loss": mean["loss"], "bpp": mean["bpp"], "psnr": _psnr(mean["mse"]),
                         "prediction_psnr": _psnr(mean["prediction_mse"]), "closed_loop": int(loop)})
            acc = {}
            log(f"patch-vae ({predictor}{', closed loop' if closed_loop else ''}) step {step}: "
                f"loss {mean['loss']:.4f}, {mean['bpp']:.3f} bpp, {rows[-1]['psnr']:.2f} dB "
                f"(prediction {rows[-1]['prediction_psnr']:.2f} dB)")
        if stop:
            break
    meta = {"predictor": predictor, "closed_loop": closed_loop, "hyperprior": hyperprior, "N": N, "M": M,
            "width": width, "lmbdas": list(lmbdas), "steps": rows[-1]["step"]}
    write_weights(out, model.state_dict(), "patch_vae", meta, rows)
    return rows[-1]


def _init_from(name: str, levels: int):
    """(predictor, N, M, width, hyperprior, state dict without per-level densities) of the
    predictive-patch model ``name``, whose rate levels must number ``levels``."""
    from .. import zoo
    from ..api import load

    entry = zoo.entry(name)
    if entry.architecture != "predictive-patch":
        raise ValueError(f"--init {name}: a {entry.architecture} model, not a predictive patch codec")
    c = entry.config
    if len(c["lmbdas"]) != levels:
        raise ValueError(f"--init {name}: it has {len(c['lmbdas'])} rate levels, --lmbdas gives {levels}")
    state = {k: v for k, v in load(name, shared=False).model.state_dict().items()
             if not k.startswith("latent_codec.level_densities.")}
    return c["predictor"], c["N"], c["M"], c["width"], bool(c.get("hyperprior")), state


def _psnr(mse: float) -> float:
    return 10 * math.log10(1 / max(mse, 1e-10))



def fit_level_densities(model: PredictivePatchCodec, folders, steps: int = 3000, batch: int = 32,
                        lr: float = 5e-3, max_minutes: float | None = None, workers: int = 1,
                        log_every: int = 500, log=print, seed: int = 0) -> list[dict]:
    """Fit ``model``'s per-level factorized densities (each starting as a copy of the shared
    one) to the latents of its own residuals, everything else frozen: each window draws a
    level, the target is predicted from neighbours the model decoded, and the loss is the
    residual latent's bits under that level's density (additive noise, as in training).
    Every level keeps the shared density's medians, around which the transforms were trained
    to be quantized; only the shapes and tails differ. Crops are not downscaled: densities fitted to smoothed crops are too narrow for photos
    at full detail at the top levels.
    Returns the log rows (step, seconds, bits per pixel)."""
    torch.manual_seed(seed)
    codec = model.latent_codec
    for density in codec.level_densities:
        density.load_state_dict(codec.density.state_dict())
    model.eval().requires_grad_(False)
    codec.level_densities.requires_grad_(True)
    params = [p for n, p in codec.level_densities.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(params, lr=lr)
    aux_opt = torch.optim.Adam([p for n, p in codec.level_densities.named_parameters() if n.endswith("quantiles")],
                               lr=1e-3)
    data = batches(folders, WINDOW_COLS * PATCH, batch, workers, min_scale=1.0)  # photos at full detail
    start, rows, acc = time.monotonic(), [], []
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = cosine(lr, progress(step, steps, time.monotonic() - start, max_minutes))
        windows = next(data)[:, :, : WINDOW_ROWS * PATCH]
        s = torch.randint(len(model.lmbdas), (len(windows),)).float()
        x = _block(windows, *TARGET)
        with torch.no_grad():
            prediction = model.predict(drop_neighbours(decoded_neighbours(model, windows, s)))
            y = model.gain(model.analysis(x - prediction), s)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        bpp = -torch.log2(codec.likelihood(noisy, s)).sum() / (len(x) * PATCH * PATCH)
        opt.zero_grad(set_to_none=True)
        bpp.backward()
        opt.step()
        aux = sum(d.aux_loss() for d in codec.level_densities)
        aux_opt.zero_grad(set_to_none=True)
        aux.backward()
        aux_opt.step()
        with torch.no_grad():  # quantize around the medians the transforms were trained with
            for d in codec.level_densities:
                d.quantiles[:, 0, 1] = codec.density.quantiles[:, 0, 1]
        acc.append(bpp.item())
        elapsed = time.monotonic() - start
        stop = max_minutes is not None and elapsed > 60 * max_minutes
        if step % log_every == 0 or step == steps or stop:
            rows.append({"step": step, "seconds": round(elapsed, 1), "bpp": sum(acc) / len(acc)})
            acc = []
            log(f"level densities step {step}: {rows[-1]['bpp']:.4f} bpp")
        if stop:
            break
    model.requires_grad_(False)
    return rows


def export_patch_codec(weights, name: str, description: str = "", modes: bool = False, out=None,
                       bundle: bool = False, fit=None, fit_minutes: float = 4.0, log=print):
    """A model (``zoo`` entry, architecture "predictive-patch") from ``train_patch_vae``'s
    output; ``modes``: its encoder may choose HEVC modes or none per block
    (``models.predictive``); ``fit``: image folders on which to fit a density per rate
    level first (``fit_level_densities``, for ``fit_minutes``). Weights written before the codec held its predictor (names
    under ``codec.``, a pre-trained predictor left out) are read too: the missing predictor is
    the bundled inpainting one, which such a codec was trained with."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from .export import model_folder, write_model

    folder = model_folder(name, out, bundle)
    with safe_open(str(weights), "pt") as f:
        meta = json.loads(f.metadata()["patch_vae"])
    config = {"N": meta["N"], "M": meta["M"], "lmbdas": meta["lmbdas"], "predictor": meta["predictor"],
              "width": meta["width"], "modes": bool(modes)}
    if meta.get("hyperprior"):
        config["hyperprior"] = True
    if fit:
        config["level_densities"] = True
    state = {k.removeprefix("codec."): v.float() for k, v in load_file(str(weights)).items()}
    if meta["predictor"] == "pretrained" and not any(k.startswith("predictor.") for k in state):
        from ..intra.learned import bundled

        predictor = bundled("inpainting")
        config["width"] = predictor.encoder[0].out_channels
        state.update({f"predictor.{k}": v for k, v in predictor.state_dict().items()})
    model = PredictivePatchCodec(**config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("latent_codec.level_densities.") for k in missing):
        raise ValueError(f"{weights}: weights do not fit the model ({(unexpected or missing)[:3]})")
    if fit:
        fit_level_densities(model, fit, steps=100000, max_minutes=fit_minutes, log=log)
    model.eval().update_tables()
    return write_model(model, name, "predictive-patch", config, folder, description, "mse", meta["steps"])
