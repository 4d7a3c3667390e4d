#!/usr/bin/env bash
# Run on the lent GPU machine (device tool), from the repository root, with .whl (constriction
# and pytorch-msssim wheels for Python 3.12) and .gpudata (pack.py's output) carried.
# Starts three runs side by side on one GPU, detached so that they outlive this call;
# later calls collect their checkpoints with snapshot.py.
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src TQDM_MININTERVAL=60 PYTHONUNBUFFERED=1
python3 -c "import tilecodec, torch; assert torch.cuda.is_available()" || exit 1
mkdir -p /tmp/runs
L="0.00045 0.0009 0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932"  # MSE levels of msh-mse
LS="0.6 1.2 2.4 4.58 8.73 16.64 31.73 60.5 115.37"                  # MS-SSIM levels (about 1333 x L)
C="--crop 256 --batch 16 --lr 3e-4 --warmup 200 --steps 1000000 --anneal-by-deadline --workers 3"
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/ckbd-mse.pt \
  --architecture checkerboard-hyperprior --init msh-mse --lmbdas $L $C --max-minutes 22 > /tmp/runs/ckbd-mse.log 2>&1 < /dev/null &
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/msh-mse.pt \
  --init msh-mse --lmbdas $L $C --max-minutes 17 > /tmp/runs/msh-mse.log 2>&1 < /dev/null &
setsid nohup python3 -m tilecodec train .gpudata/train --checkpoint /tmp/runs/msh-msssim.pt \
  --init src/tilecodec/weights/msh-mse.safetensors --distortion ms-ssim --lmbdas $LS $C --max-minutes 17 \
  > /tmp/runs/msh-msssim.log 2>&1 < /dev/null &
