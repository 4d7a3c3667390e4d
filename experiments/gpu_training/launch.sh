#!/usr/bin/env bash
# Run on the lent GPU machine (device tool), from the repository root, with .whl (constriction
# and pytorch-msssim wheels for Python 3.12), .gpudata (pack.py's output) and .gpuinit (the
# starting weights as float16 safetensors, to fit the transfer limit) carried.
# Starts three runs side by side on one GPU, detached so that they outlive this call;
# later calls collect their checkpoints with snapshot.py. (Stage 2, 2026-11-23; the first
# stage's commands are in the README.)
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src TQDM_MININTERVAL=60 PYTHONUNBUFFERED=1
python3 -c "import tilecodec, torch; assert torch.cuda.is_available()" || exit 1
mkdir -p /tmp/runs
L="0.00045 0.0009 0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932"  # MSE levels
LS="0.6 1.2 2.4 4.58 8.73 16.64 31.73 60.5 115.37"                  # MS-SSIM levels (about 1333 x L)
C="--crop 256 --batch 16 --warmup 200 --steps 1000000 --anneal-by-deadline --workers 3"
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/ckbd-mse.pt \
  --architecture checkerboard-hyperprior --init .gpuinit/ckbd-mse.safetensors --lmbdas $L $C --lr 2e-4 \
  --max-minutes 22 > /tmp/runs/ckbd-mse.log 2>&1 < /dev/null &
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/msh-mse-fast.pt \
  --init .gpuinit/msh-fast.safetensors --widths 64 64 128 --hyper-widths 128 192 --lmbdas $L $C --lr 2e-4 \
  --max-minutes 19 > /tmp/runs/msh-mse-fast.log 2>&1 < /dev/null &
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/ckbd-msssim.pt \
  --architecture checkerboard-hyperprior --init .gpuinit/ckbd-mse.safetensors --distortion ms-ssim \
  --lmbdas $LS $C --lr 3e-4 --max-minutes 19 > /tmp/runs/ckbd-msssim.log 2>&1 < /dev/null &
