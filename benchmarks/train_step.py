"""Seconds per training step of the default architecture on this CPU, in float32 and under
bf16 autocast, and which one the measured rule (``numerics.bf16_pays``) picks.

    python benchmarks/train_step.py [--steps 6] [--batch 8] [--crop 256]
        # writes benchmarks/results/train_step.md

A step is what ``tilecodec train`` does per batch: forward, rate-distortion loss at a random
rate level per crop, backward, gradient clipping and both Adam updates, on real training crops.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train"))
    args = p.parse_args()
    from tilecodec import numerics, zoo
    from tilecodec.losses import rd_loss
    from tilecodec.models import build
    from tilecodec.train.data import RandomCrops

    torch.manual_seed(0)
    entry = zoo.entry(zoo.DEFAULT_MODEL)
    crops = RandomCrops([args.data], args.crop)
    batches = [torch.stack([crops[i * args.batch + k] for k in range(args.batch)]) for i in range(args.steps + 1)]
    times = {}
    for bf16 in (False, True):
        model = build(entry.architecture, **entry.config).to(memory_format=torch.channels_last).train()
        main_params = [q for n, q in model.named_parameters() if not n.endswith("quantiles")]
        aux_params = [q for n, q in model.named_parameters() if n.endswith("quantiles")]
        opt, aux_opt = torch.optim.Adam(main_params, lr=1e-4), torch.optim.Adam(aux_params, lr=1e-3)
        lmbdas = torch.tensor(model.lmbdas)
        seconds = []
        for x in batches:
            start = time.perf_counter()
            s = torch.randint(0, len(lmbdas), (len(x),)).float()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(x.contiguous(memory_format=torch.channels_last), s)
            loss = rd_loss(out, x, lmbdas[s.long()])["loss"]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(main_params, 1.0)
            opt.step()
            aux_opt.zero_grad()
            model.aux_loss().backward()
            aux_opt.step()
            seconds.append(time.perf_counter() - start)
        times["bf16 autocast" if bf16 else "float32"] = seconds[1:]  # the first step warms up
    pick = "bf16 autocast" if numerics.bf16_pays() else "float32"
    lines = [f"`python benchmarks/train_step.py {' '.join(sys.argv[1:])}`".replace(" `", "`"), "",
             f"`{zoo.DEFAULT_MODEL}` ({entry.architecture}), batch {args.batch} of {args.crop}x{args.crop}, "
             f"{torch.get_num_threads()} threads, torch {torch.__version__}, {numerics.cpu_name()}; "
             f"{args.steps} steps after one warm-up step.", "",
             "| numerics | median s/step | best s/step |", "|---|---|---|"]
    for name, seconds in times.items():
        lines.append(f"| {name}{' (picked)' if name == pick else ''} | {statistics.median(seconds):.2f} | {min(seconds):.2f} |")
    text = "\n".join(lines) + "\n"
    (ROOT / "benchmarks" / "results" / "train_step.md").write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.pop("TILECODEC_BF16", None)
    main()
