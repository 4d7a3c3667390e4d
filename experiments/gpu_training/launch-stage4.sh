#!/usr/bin/env bash
# Stage 4: every network that is worth GPU time, side by side on one GPU for MINUTES minutes
# (first argument, default 7), returning after at most WAIT seconds (second, default 555), from the repository root with .whl, .gpudata and .gpuinit carried (.gpuinit
# holds only ckbd-mse-campaign.safetensors in float16; the bundled weight files except
# intra-inpainting, which the pre-trained intra patch codec needs, moved out of the tree).
# Waits for the runs, then packs all but the default model into $OUT (<= 15 MiB parts of
# runs.tar); collect the default model in the next call with
#   python3 experiments/gpu_training/snapshot.py /tmp/runs/ckbd-mse.pt ckbd-mse --half
# Runs: the default model's campaign (11 levels), the two intra predictors, the recurrent
# codec's networks, and five patch codecs (baseline, pre-trained intra, embedded intra open
# and closed loop, embedded intra with a hyperprior, closed loop).
M=${1:-7}; WAIT=${2:-555}
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 TQDM_MININTERVAL=60 OMP_NUM_THREADS=2
python3 -c "import tilecodec, torch; assert torch.cuda.is_available()" || exit 1
mkdir -p /tmp/runs; D=.gpudata/train
run() {  # NAME COMMAND...: detached, its pid in /tmp/runs/NAME.pid
  local name=$1; shift
  setsid nohup python3 -m tilecodec "$@" > "/tmp/runs/$name.log" 2>&1 < /dev/null &
  echo $! > "/tmp/runs/$name.pid"
}
L="0.00045 0.0009 0.0018 0.0035 0.0067 0.013 0.025 0.0483 0.0932 0.18 0.36"
run ckbd-mse train $D --checkpoint /tmp/runs/ckbd-mse.pt --architecture checkerboard-hyperprior \
  --init .gpuinit/ckbd-mse-campaign.safetensors --lmbdas $L --crop 256 --batch 16 --warmup 200 \
  --steps 1000000 --anneal-by-deadline --workers 3 --lr 1.5e-4 --max-minutes $M
for kind in inpainting extended; do
  run intra-$kind train-intra $kind $D --out /tmp/runs/intra-$kind.safetensors --width 32 --batch 256 \
    --lr 5e-4 --steps 100000 --max-minutes $M --workers 2
done
run recurrent train-recurrent $D --out /tmp/runs/recurrent.safetensors --width 32 --batch 128 --iterations 16 \
  --lr 5e-4 --steps 100000 --max-minutes $M --workers 1
P="--batch 64 --lr 3e-4 --steps 100000 --max-minutes $M --workers 2"
run patch-vae train-patch-vae $D --out /tmp/runs/patch-vae.safetensors --predictor none $P
run patch-vae-pretrained-intra train-patch-vae $D --out /tmp/runs/patch-vae-pretrained-intra.safetensors --predictor pretrained $P
run patch-vae-embedded-intra train-patch-vae $D --out /tmp/runs/patch-vae-embedded-intra.safetensors --predictor embedded $P
run patch-vae-embedded-intra-closed train-patch-vae $D --out /tmp/runs/patch-vae-embedded-intra-closed.safetensors \
  --predictor embedded --closed-loop $P
run patch-vae-embedded-intra-hyper train-patch-vae $D --out /tmp/runs/patch-vae-embedded-intra-hyper.safetensors \
  --predictor embedded --closed-loop --hyperprior $P
set +x
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv; uptime
while [ $SECONDS -lt $WAIT ]; do
  alive=0; for p in /tmp/runs/*.pid; do kill -0 "$(cat "$p")" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 5
done
for f in /tmp/runs/*.log; do echo "== $f"; tail -c 600 "$f" | tr '\r' '\n' | tail -3; done
cd /tmp/runs && tar cf /tmp/runs.tar --exclude='ckbd-mse*' *.safetensors *.csv *.log && split -b 15M -d /tmp/runs.tar "$OUT/runs.tar.part"
ls -la "$OUT"
