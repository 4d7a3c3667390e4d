#!/usr/bin/env bash
# The correlation-loss study's runs, side by side, all from the same start
# (make_start.py -> START), on the same data, crops, batch, steps and schedule:
#   experiments/correlation_loss/train.sh DATA START OUTDIR STEPS [BATCH] [EXTRA TRAIN ARGS...]
# On a lent GPU (with .gpudata and .gpuinit carried, see experiments/gpu_training):
#   experiments/correlation_loss/train.sh .gpudata/train .gpuinit/corr-start.safetensors /tmp/corr 3000 16 --workers 1
# Runs: the table's seven (hyperprior, checkerboard and ChARM, each without and with the loss,
# and the serial autoregressive context), the alpha sweep on the checkerboard (the table's
# alpha and two more), and two other windows (3x3 and 7x7), in that order. JOBS (default: all)
# caps how many run at once; on a 2-core CPU, JOBS=2 with OMP_NUM_THREADS=1:
#   JOBS=2 OMP_NUM_THREADS=1 experiments/correlation_loss/train.sh ../shared/data/train START /tmp/corr 2000 8 --crop 128
# Returns when all have ended.
set -euo pipefail
DATA=$1; START=$2; OUT=$3; STEPS=$4; BATCH=${5:-8}; shift 5 || shift $#
EXTRA=("$@")
ALPHA=${ALPHA:-3e-6}  # the table's alpha (see README); the sweep adds ALPHA/4 and ALPHA*4
L="0.00045 0.0009 0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932"
mkdir -p "$OUT"
JOBS=${JOBS:-99}
run() {  # NAME ARCHITECTURE [TRAIN ARGS...]
  local name=$1 arch=$2; shift 2
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
  tilecodec train "$DATA" --checkpoint "$OUT/$name.pt" --architecture "$arch" --init "$START" --lmbdas $L \
    --batch "$BATCH" --lr 1e-4 --warmup 100 --steps "$STEPS" "${EXTRA[@]}" "$@" > "$OUT/$name.log" 2>&1 &
}
run hyperprior mean-scale-hyperprior
run hyperprior-corr mean-scale-hyperprior --correlation "$ALPHA"
run checkerboard checkerboard-hyperprior
run checkerboard-corr checkerboard-hyperprior --correlation "$ALPHA"
run charm channel-autoregressive
run charm-corr channel-autoregressive --correlation "$ALPHA"
run serial joint-autoregressive
A=$(python3 -c "print($ALPHA / 4, $ALPHA * 4)")
for a in $A; do run "checkerboard-corr-a$a" checkerboard-hyperprior --correlation "$a"; done
for k in 3 7; do run "checkerboard-corr-k$k" checkerboard-hyperprior --correlation "$ALPHA" --correlation-k $k; done
wait
