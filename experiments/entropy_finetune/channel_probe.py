"""Probe: how many bits would a channel-wise context (ELIC-style channel groups inside the
checkerboard passes) save on top of ckbd-mse's frozen model?

Every part of ckbd-mse stays frozen. Its latent's 192 channels are split into groups
16/16/32/64/64, coded one after another inside each checkerboard pass (all anchors, then all
non-anchors). For group g > 0, a small new network adds to the frozen model's scales and
means a correction computed from the groups before it, as decoded so far: their anchors in
the anchor pass, their whole maps in the non-anchor pass (3x3 conv, ReLU, 1x1 conv; the
last layer starts at zero, so training starts from ckbd-mse exactly). Only these networks
train, on the rate of cached latents (``cache.py``) under additive noise; held-out bits are
measured as coded (rounded latents, coding scale floors).

    python experiments/entropy_finetune/channel_probe.py runs/latents-ckbd-mse.pt --max-minutes 20
"""
import argparse, math, os, random, time
import torch
from torch import nn
from tilecodec.zoo import load_model
from tilecodec.latent.checkerboard import anchor_mask

p = argparse.ArgumentParser()
p.add_argument("latents")
p.add_argument("--groups", default="16,16,32,64,64")
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--max-minutes", type=float, default=20)
p.add_argument("--eval-every", type=int, default=250)
a = p.parse_args()
torch.set_num_threads(2)
torch.manual_seed(0)
rng = random.Random(0)
model, entry = load_model("ckbd-mse")
for q in model.parameters():
    q.requires_grad_(False)
lc = model.latent_codec
groups = [int(v) for v in a.groups.split(",")]
edges = [0]
for g in groups:
    edges.append(edges[-1] + g)


def delta_net(cin, cout):
    net = nn.Sequential(nn.Conv2d(cin, a.hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(a.hidden, 2 * cout, 1))
    nn.init.zeros_(net[-1].weight); nn.init.zeros_(net[-1].bias)
    return net


nets = nn.ModuleList([nn.ModuleList([delta_net(edges[g], groups[g]) for g in range(1, len(groups))]) for _ in range(2)])
opt = torch.optim.Adam(nets.parameters(), lr=a.lr)


def rate(y_raw, s, quantize):
    """Bits per image of y and z; ``quantize`` None: training (noise), else as coded."""
    y = model.gain(y_raw, s)
    z_hat, z_lik = lc._train_z(y, s, quantize)
    hyper = lc._hyper(z_hat, s)
    anchors = anchor_mask(y.shape[2:])
    base_a = lc._anchor_params(hyper)
    y_hat = [torch.zeros_like(y[:, lo:hi]) for lo, hi in zip(edges, edges[1:])]
    bits = [-torch.log2(z_lik).flatten(1).sum(1)]

    def code(pass_, base_s, base_m, mask):
        for g in range(len(groups)):
            lo, hi = edges[g], edges[g + 1]
            sc, mu = base_s[:, lo:hi], base_m[:, lo:hi]
            if g:
                ds, dm = nets[pass_][g - 1](torch.cat(y_hat[:g], 1)).chunk(2, dim=1)
                sc, mu = sc * torch.exp(ds), mu + dm
            yg = y[:, lo:hi]
            r = yg - mu
            rounded = mu + r + (torch.round(r) - r).detach()
            y_hat[g] = torch.where(mask, rounded, y_hat[g])
            if quantize is None:
                l = lc.y.gaussian.likelihood(yg + torch.empty_like(yg).uniform_(-0.5, 0.5), sc, mu)
            else:
                l = lc.y.gaussian.likelihood(rounded, lc.floored(sc, s), mu)
            bits.append((-torch.log2(l) * mask).flatten(1).sum(1))  # only this pass's positions

    code(0, *base_a, anchors)
    base_n = lc._split(hyper, lc.context(torch.cat(y_hat, 1) * anchors))
    code(1, *base_n, ~anchors)
    return sum(bits)


latents = torch.load(a.latents)
held, latents = latents[-64:], latents[:-64]


def evaluate():
    out = []
    with torch.no_grad():
        for lv in (0, 4, 8):
            b = px = 0
            for y in held:
                y = y[..., : y.shape[2] // 4 * 4, : y.shape[3] // 4 * 4].float()
                b += rate(y, torch.full((1,), float(lv)), torch.round).item()
                px += y.shape[2] * y.shape[3] * 256
            out.append(b / px)
    return out


base = evaluate()
print("start", ["%.4f" % v for v in base], flush=True)
start, step, run, c = time.time(), 0, [], 16
while time.time() - start < a.max_minutes * 60:
    batch = []
    for _ in range(a.batch):
        y = rng.choice(latents)
        i, j = rng.randrange(y.shape[2] - c + 1), rng.randrange(y.shape[3] - c + 1)
        batch.append(y[0, :, i: i + c, j: j + c])
    frac = (time.time() - start) / (a.max_minutes * 60)
    for g in opt.param_groups:
        g["lr"] = a.lr * min(1, (step + 1) / 100) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1))))
    bpp = rate(torch.stack(batch).float(), torch.randint(len(model.lmbdas), (a.batch,)).float(), None).mean() / (c * c * 256)
    opt.zero_grad(); bpp.backward(); torch.nn.utils.clip_grad_norm_(nets.parameters(), 1.0); opt.step()
    run.append(bpp.item()); step += 1
    if step % a.eval_every == 0:
        e = evaluate()
        print(step, f"{(time.time() - start) / 60:.1f}min train {sum(run) / len(run):.4f}",
              " ".join(f"{v:.4f} ({(v / b - 1) * 100:+.2f}%)" for v, b in zip(e, base)), flush=True)
        run = []
e = evaluate()
print("end", step, " ".join(f"{v:.4f} ({(v / b - 1) * 100:+.2f}%)" for v, b in zip(e, base)), flush=True)
