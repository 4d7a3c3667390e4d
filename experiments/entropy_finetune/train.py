"""Rate-only fine-tuning of a model's latent codec (hyper-analysis, hyper-synthesis, z
density, context model, entropy parameters) on cached latents (``cache.py``), with the
analysis and synthesis transforms and the gain units frozen.

With the transforms frozen, the distortion is fixed up to where each latent is rounded
(around its predicted mean), so the loss is the rate: bits of y and z per pixel of 16x16
latent crops (256x256 pixels), each at a random trained level. The latent codec runs at
1/16 of the image resolution, so a step costs a small part of a full training step.
Writes a training checkpoint that ``tilecodec export`` accepts.

    python experiments/entropy_finetune/train.py ckbd-mse runs/latents-ckbd-mse.pt runs/ckbd-ft.pt --max-minutes 60
"""
import argparse, csv, math, os, random, time
from dataclasses import asdict
import torch
from tilecodec.zoo import load_model
from tilecodec.train.loop import TrainConfig
from tilecodec.train.data import find_images

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("latents"); p.add_argument("checkpoint")
p.add_argument("--lr", type=float, default=2e-4)
p.add_argument("--warmup", type=int, default=200)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--crop", type=int, default=16, help="latent crop side (x16 pixels)")
p.add_argument("--max-minutes", type=float, default=60)
p.add_argument("--eval-every", type=int, default=500)
p.add_argument("--resume", action="store_true")
p.add_argument("--rounded", action="store_true", help="train on the rounded latents' bits (straight-through), not under noise")
a = p.parse_args()
torch.set_num_threads(int(os.environ.get("THREADS", "2")))
torch.manual_seed(0)
rng = random.Random(0)

model, entry = load_model(a.model)
for q in model.parameters():
    q.requires_grad_(False)
codec = model.latent_codec
quantiles = [q for n, q in codec.named_parameters() if n.endswith("quantiles")]
main = [q for n, q in codec.named_parameters() if not n.endswith("quantiles")]
for q in quantiles + main:
    q.requires_grad_(True)
opt = torch.optim.Adam(main, lr=a.lr)
aux_opt = torch.optim.Adam(quantiles, lr=1e-3)
step = 0
if a.resume and os.path.exists(a.checkpoint):
    st = torch.load(a.checkpoint, weights_only=False)
    model.load_weights(st["model"]); opt.load_state_dict(st["optimizer"]); aux_opt.load_state_dict(st["aux_optimizer"])
    step = st["step"]; rng.setstate(st["py_rng"]); torch.set_rng_state(st["rng"])
levels = len(model.lmbdas)
latents = torch.load(a.latents)
held = [y for y in latents[-64:]]  # the last 32 photos (both flips) are held out
latents = latents[:-64]
cfg = TrainConfig(architecture=entry.architecture, N=entry.config["N"], M=entry.config["M"],
                  lmbdas=entry.config.get("lmbdas"), distortion=entry.distortion, lr=a.lr, warmup=a.warmup)


def ste(r):
    return r + (torch.round(r) - r).detach()


def bits(y_raw, s_level, train):
    s = torch.full((len(y_raw),), float(s_level)) if not torch.is_tensor(s_level) else s_level
    y = model.gain(y_raw.float(), s)
    _, lik, _ = codec(y, s, quantize=(ste if a.rounded else None) if train else torch.round)
    return sum(-torch.log2(v).flatten(1).sum(1) for v in lik.values())


def evaluate():
    """Held-out bits per pixel at levels 0, 4 and 8, as coded: rounded latents, coding scale floors."""
    codec.eval()
    with torch.no_grad():
        out = []
        for lv in (0, 4, 8):
            b = sum(bits(y[..., : y.shape[2] // 4 * 4, : y.shape[3] // 4 * 4], lv, False).item() for y in held)
            px = sum((y.shape[2] // 4 * 4) * (y.shape[3] // 4 * 4) * 256 for y in held)
            out.append(b / px)
    codec.train()
    return out


def lr_at(step, frac):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    return a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def save():
    tmp = a.checkpoint + ".tmp"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "aux_optimizer": aux_opt.state_dict(),
                "step": step, "rng": torch.get_rng_state(), "py_rng": rng.getstate(), "config": asdict(cfg)}, tmp)
    os.replace(tmp, a.checkpoint)


log = open(a.checkpoint + ".csv", "a", newline="")
w = csv.writer(log)
base = evaluate()
print("start", step, ["%.4f" % v for v in base], flush=True)
w.writerow(["step", "minutes", "train_bpp", "eval_bpp_l0", "eval_bpp_l4", "eval_bpp_l8"]); w.writerow([step, 0, "", *base]); log.flush()
start = last = time.time()
c = a.crop
run = []
codec.train()
while time.time() - start < a.max_minutes * 60:
    batch = []
    for _ in range(a.batch):
        y = rng.choice(latents)
        i, j = rng.randrange(y.shape[2] - c + 1), rng.randrange(y.shape[3] - c + 1)
        batch.append(y[0, :, i: i + c, j: j + c])
    y = torch.stack(batch).float()
    s = torch.randint(levels, (a.batch,)).float()
    for g in opt.param_groups:
        g["lr"] = lr_at(step, (time.time() - start) / (a.max_minutes * 60))
    bpp = bits(y, s, True).mean() / (c * c * 256)
    opt.zero_grad(); bpp.backward()
    torch.nn.utils.clip_grad_norm_(main, 1.0)
    opt.step()
    aux = model.aux_loss(); aux_opt.zero_grad(); aux.backward(); aux_opt.step()
    run.append(bpp.item()); step += 1
    if step % a.eval_every == 0:
        e = evaluate()
        print(step, f"{(time.time() - start) / 60:.1f}min train {sum(run) / len(run):.4f}",
              " ".join(f"{v:.4f} ({(v / b - 1) * 100:+.2f}%)" for v, b in zip(e, base)), flush=True)
        w.writerow([step, round((time.time() - start) / 60, 1), sum(run) / len(run), *e]); log.flush(); run = []
    if time.time() - last > 300:
        save(); last = time.time()
save()
print("done", step)
