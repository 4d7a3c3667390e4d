#!/usr/bin/env bash
# Stage 3 (prepared 2026-11-23, not yet run). Run on the lent GPU machine from the repository
# root with .whl, .gpudata and .gpuinit carried, as launch.sh; .gpuinit holds only the float16
# copy of ckbd-mse (the bundled weight files moved out of the tree, see README).
# Two runs side by side, detached: ckbd-mse widened to transform widths 192 (function-
# preserving, tilecodec.train.widen: it starts exactly at ckbd-mse) and, as its control,
# ckbd-mse continued at its own width with the same settings.
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src TQDM_MININTERVAL=60 PYTHONUNBUFFERED=1
python3 -c "import tilecodec, torch; assert torch.cuda.is_available()" || exit 1
mkdir -p /tmp/runs
python3 -m tilecodec.train.widen ckbd-mse --weights .gpuinit/ckbd-mse.safetensors --widths 192 192 192 \
  -o /tmp/runs/ckbd-wide-init.safetensors || exit 1
L="0.00045 0.0009 0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932"  # MSE levels
C="--crop 256 --batch 16 --warmup 200 --steps 1000000 --anneal-by-deadline --workers 3 --lr 2e-4 --max-minutes 22"
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/ckbd-wide.pt \
  --architecture checkerboard-hyperprior --init /tmp/runs/ckbd-wide-init.safetensors --widths 192 192 192 \
  --lmbdas $L $C > /tmp/runs/ckbd-wide.log 2>&1 < /dev/null &
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/ckbd-mse.pt \
  --architecture checkerboard-hyperprior --init .gpuinit/ckbd-mse.safetensors \
  --lmbdas $L $C > /tmp/runs/ckbd-mse.log 2>&1 < /dev/null &
