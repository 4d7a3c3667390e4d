#!/usr/bin/env bash
# Prepared (not yet run): the predictive patch codecs' networks on a lent GPU, from the
# repository root with .whl and .gpudata carried (README, steps 1-2; no .gpuinit: these start
# from scratch). Three runs side by side, detached, each stopping itself: the two intra
# predictors at width 32 (the bundled size; CPU: 9,500 and 12,494 steps in 22 min) and the
# recurrent codec's networks at width 32 with 16 iterations. Their outputs are float16 and
# small (about 5 MB each): one call's returned files hold all three. The data loader decodes
# every training photo on the CPU first (about a minute).
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
python3 -c "import tilecodec, torch; assert torch.cuda.is_available()" || exit 1
mkdir -p /tmp/runs
for kind in inpainting extended; do
  setsid nohup python3 -m tilecodec train-intra "$kind" .gpudata/train --out "/tmp/runs/intra-$kind.safetensors" \
    --width 32 --batch 256 --lr 5e-4 --steps 30000 --max-minutes 11 > "/tmp/runs/intra-$kind.log" 2>&1 < /dev/null &
done
setsid nohup python3 -m tilecodec train-recurrent .gpudata/train --out /tmp/runs/recurrent.safetensors \
  --width 32 --batch 128 --iterations 16 --lr 5e-4 --steps 30000 --max-minutes 11 \
  > /tmp/runs/recurrent.log 2>&1 < /dev/null &
